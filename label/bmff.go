package label

import "github.com/ailabel/ailabel/manifest/bmffhash"

// bmffExclusions are the boxes ailabel's c2pa.hash.bmff.v3 binding leaves out: the C2PA box
// itself, ftyp, mfra, free and skip, as c2pa-rs writes them.
func bmffExclusions() []bmffhash.Exclusion { return bmffhash.C2PAExclusions() }
