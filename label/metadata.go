package label

import (
	"errors"
	"strings"

	"github.com/ailabel/ailabel/formats"
	"github.com/ailabel/ailabel/formats/exif"
	"github.com/ailabel/ailabel/formats/text"
	"github.com/ailabel/ailabel/formats/xmp"
)

func withModel(text, model string) string {
	if model == "" {
		return text
	}
	return text + " (" + model + ")"
}

// metadata builds the XMP packet and, for images, the EXIF data that carry the label for tools
// that read no C2PA. A malformed existing packet is replaced rather than merged.
func (l *Labeler) metadata(c formats.Container, o Options, rv *resolved, dst, instanceID, aigc string) (xmpPacket, exifData []byte, warnings []string) {
	if _, ok := c.(*text.File); ok {
		return nil, nil, nil // plain text and Markdown carry neither (their Layout ignores both)
	}
	desc := rv.description(o.Model)
	fields := xmp.Fields{DigitalSourceType: dst, InstanceID: instanceID, CreatorTool: o.Model, Description: desc}
	if !rv.pol.Machine.IPTC {
		fields.DigitalSourceType = ""
	}
	if aigc != "" {
		fields.Extra = append(fields.Extra, xmp.Property{NS: NSTC260, Prefix: "TC260", Name: "AIGC", Value: aigc})
	}
	if o.NoTraining {
		fields.Extra = append(fields.Extra, xmp.Property{NS: NSPLUS, Prefix: "plus", Name: "DataMining", Value: PLUSNoAITraining})
	}
	var err error
	xmpPacket, err = xmp.Build(c.XMP(), fields)
	if err != nil {
		if c.XMP() != nil && errors.Is(err, xmp.ErrMalformed) {
			warnings = append(warnings, "the input's XMP packet is malformed and was replaced: "+err.Error())
		}
		xmpPacket, err = xmp.Build(nil, fields)
		if err != nil {
			warnings = append(warnings, "XMP not written: "+err.Error())
			xmpPacket = nil
		}
	}
	if !strings.HasPrefix(c.Format().MIME, "image/") || !rv.pol.Machine.EXIF {
		return xmpPacket, nil, warnings
	}
	var texts []string
	for _, d := range desc {
		texts = append(texts, d.Text)
	}
	ef := exif.Fields{
		ImageDescription: withModel("AI-generated content", o.Model),
		Software:         o.Model,
		UserComment:      strings.Join(texts, " / "),
	}
	if aigc != "" {
		ef.UserComment = `{"AIGC":` + aigc + `}` // TC260-PG-20259A Appendix B
	}
	exifData, err = exif.Build(c.EXIF(), ef)
	if err != nil && c.EXIF() != nil {
		warnings = append(warnings, "the input's EXIF could not be merged and was written anew: "+err.Error())
		exifData, err = exif.Build(nil, ef)
	}
	if err != nil {
		warnings = append(warnings, "EXIF not written: "+err.Error())
		exifData = nil
	}
	return xmpPacket, exifData, warnings
}
