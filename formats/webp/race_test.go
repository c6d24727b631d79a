//go:build race

package webp

// slowdown scales the time limits of the timing tests: the race detector makes code 5-20x slower.
const slowdown = 20
