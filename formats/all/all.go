// Package all registers every container ailabel knows. Import it for its side effect:
//
//	import _ "github.com/ailabel/ailabel/formats/all"
package all

import (
	// Containers register themselves in init.
	_ "github.com/ailabel/ailabel/formats/bmff"
	_ "github.com/ailabel/ailabel/formats/gif"
	_ "github.com/ailabel/ailabel/formats/id3"
	_ "github.com/ailabel/ailabel/formats/jpeg"
	_ "github.com/ailabel/ailabel/formats/jxl"
	_ "github.com/ailabel/ailabel/formats/pdf"
	_ "github.com/ailabel/ailabel/formats/png"
	_ "github.com/ailabel/ailabel/formats/riff"
	_ "github.com/ailabel/ailabel/formats/svg"
	_ "github.com/ailabel/ailabel/formats/text"
	_ "github.com/ailabel/ailabel/formats/tiff"
	_ "github.com/ailabel/ailabel/formats/webp"
)
