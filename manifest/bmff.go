package manifest

import "io"

// checkBMFFHash checks a c2pa.hash.bmff.v2/v3 binding. It returns code "match", "mismatch" or
// another status code with the reason.
func checkBMFFHash(content []byte, asset io.ReaderAt, size int64) (bool, string, string) {
	return false, "BMFF hash checking is not wired yet", CodeGeneralError
}
