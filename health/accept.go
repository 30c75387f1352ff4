package health

import (
	"mime"
	"strconv"
	"strings"
)

// wantsHealthJSON reports whether the Accept header values ask for
// application/health+json: it is listed with a quality above zero, and
// application/json is not listed with a higher one. Anything else, a
// wildcard or no Accept header at all, gets the plain JSON.
func wantsHealthJSON(accept []string) bool {
	var health, plain float64
	for _, header := range accept {
		for _, item := range strings.Split(header, ",") {
			mediaType, params, err := mime.ParseMediaType(item)
			if err != nil {
				continue
			}
			q := 1.0
			if s, ok := params["q"]; ok {
				if q, err = strconv.ParseFloat(s, 64); err != nil {
					continue
				}
			}
			switch mediaType {
			case contentTypeHealthJSON:
				health = max(health, q)
			case contentTypeJSON:
				plain = max(plain, q)
			}
		}
	}
	return health > 0 && health >= plain
}
