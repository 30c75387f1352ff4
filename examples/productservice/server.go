package main

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redisguard/redisguard"
	"github.com/redisguard/redisguard/cache"
	"github.com/redisguard/redisguard/health"
)

// service serves the products through the cache.
type service struct {
	db       *database
	products *cache.Cache[Product]
	log      *slog.Logger
	draining atomic.Bool // shutting down: readiness fails, requests are still served
}

// routes returns the service's HTTP handler.
func (s *service) routes(rdb *redisguard.Client, reg *prometheus.Registry) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /products/{id}", s.getProduct)
	mux.HandleFunc("PUT /products/{id}", s.putProduct)
	mux.HandleFunc("DELETE /products/{id}/cache", s.invalidate)
	mux.Handle("GET /health/redis", health.Handler(rdb))
	mux.Handle("GET /health/live", health.Liveness(rdb))
	// The products answer from the database while Redis is down, so Redis is
	// optional for readiness: a Redis outage must not take every pod out of
	// the Service. /health/redis still shows it fail.
	mux.Handle("GET /health/ready", s.unlessDraining(health.Readiness(rdb, health.Options{Optional: true})))
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	return mux
}

// unlessDraining fails readiness once shutdown began, so that the load
// balancer stops sending requests while they are still served.
func (s *service) unlessDraining(ready http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.draining.Load() {
			w.Header().Set("Cache-Control", "no-store")
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "draining"})
			return
		}
		ready.ServeHTTP(w, r)
	})
}

func (s *service) getProduct(w http.ResponseWriter, r *http.Request) {
	p, err := s.products.Get(r.Context(), r.PathValue("id"), s.db.Product)
	switch {
	case errors.Is(err, cache.ErrNotFound):
		writeError(w, http.StatusNotFound, "product not found")
	case err != nil:
		s.log.Error("get product", "id", r.PathValue("id"), "err", err)
		writeError(w, http.StatusInternalServerError, "product unavailable")
	default:
		writeJSON(w, http.StatusOK, p)
	}
}

func (s *service) putProduct(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	var p Product
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		writeError(w, http.StatusBadRequest, "invalid product: "+err.Error())
		return
	}
	switch {
	case p.ID != "" && p.ID != id:
		writeError(w, http.StatusBadRequest, "the id in the body differs from the id in the path")
		return
	case p.Name == "" || p.Price < 0 || p.Stock < 0:
		writeError(w, http.StatusBadRequest, "a product needs a name, and no negative price or stock")
		return
	}
	p.ID = id
	err := s.products.Update(r.Context(), id, p, s.db.Save)
	switch {
	case errors.Is(err, cache.ErrNotFound):
		writeError(w, http.StatusNotFound, "product not found")
	case err != nil:
		s.log.Error("update product", "id", id, "err", err)
		writeError(w, http.StatusInternalServerError, "update failed")
	default:
		writeJSON(w, http.StatusOK, p)
	}
}

func (s *service) invalidate(w http.ResponseWriter, r *http.Request) {
	if err := s.products.Delete(r.Context(), r.PathValue("id")); err != nil {
		s.log.Warn("invalidate product", "id", r.PathValue("id"), "err", err)
		writeError(w, http.StatusServiceUnavailable, "cache unavailable")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}
