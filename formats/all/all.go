// Package all registers every container ailabel knows. Import it for its side effect:
//
//	import _ "github.com/ailabel/ailabel/formats/all"
package all

import (
	// Containers register themselves in init.
	_ "github.com/ailabel/ailabel/formats/bmff"
	_ "github.com/ailabel/ailabel/formats/jpeg"
	_ "github.com/ailabel/ailabel/formats/png"
	_ "github.com/ailabel/ailabel/formats/webp"
)
