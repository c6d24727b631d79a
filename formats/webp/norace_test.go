//go:build !race

package webp

// slowdown scales the time limits of the timing tests.
const slowdown = 1
