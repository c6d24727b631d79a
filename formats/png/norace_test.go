//go:build !race

package png

// slowdown scales the time limits of the timing tests.
const slowdown = 1
