//go:build race

package redisguard

// raceDetector: the tests run under the race detector, whose instrumentation
// makes every frame larger.
const raceDetector = true
