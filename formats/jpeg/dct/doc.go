// Package dct is a JPEG codec that works on quantised DCT coefficients, so that a picture can be
// changed in a few places without recompressing the rest of it.
//
// ailabel uses it to draw a visible "AI-generated" badge onto a JPEG: Decode reads the whole
// file into quantised coefficients (no inverse DCT, no colour conversion), Pixels turns only the
// MCUs under the badge into pixels, Replace forward-transforms and quantises the edited pixels
// back into those MCUs with the image's own quantisation tables, and Encode writes the file
// again. Every 8x8 block outside the replaced MCUs keeps its quantised coefficients bit for bit,
// the way jpegtran's lossless transforms do, so there is no generation loss outside the badge.
//
// # What is read
//
//   - Frames: baseline (SOF0), extended sequential 8-bit (SOF1) and progressive (SOF2), all
//     Huffman-coded, with spectral selection and successive approximation, restart intervals
//     (DRI/RSTn), and any number of scans up to MaxScans.
//   - Components: 1 (grey) or 3 (YCbCr, or RGB as marked by an Adobe APP14 segment or the
//     component identifiers R, G, B); any sampling factors from 1 to 4, so 4:4:4, 4:2:2, 4:2:0,
//     4:4:0, 4:1:1 and rarer layouts all round-trip. A grey image's sampling factors are taken
//     as 1x1 (ITU T.81 A.2: a single-component scan is non-interleaved whatever they say).
//   - Everything the frame needs is checked: segment lengths, dimensions, component
//     identifiers, sampling factors, table indexes, Huffman tables and codes, run lengths,
//     spectral-selection and successive-approximation parameters, coefficient ranges, restart
//     marker sequence, and the end of the entropy-coded data. Bad input gives an error wrapping
//     formats.ErrMalformed; never a panic.
//
// Refused with an error wrapping formats.ErrUnsupported, so that the caller can fall back to a
// full decode and re-encode: 4-component (CMYK, YCCK) and 2-component images, 12- and 16-bit
// samples, arithmetic coding (SOF9-SOF15, DAC), lossless (SOF3) and hierarchical (SOF5-SOF7,
// DHP, EXP) JPEG, JPEG-LS, a height given later by a DNL marker, and unknown marker codes.
//
// # Limits
//
// Decode reads the whole input into memory (at most Limits.MaxBytes) and refuses a frame of
// more than Limits.MaxPixels pixels with an error wrapping formats.ErrTooLarge. The coefficient
// memory (128 bytes per 8x8 block, plus 8 bytes per block for a progressive image, in one slab
// per component) is computed from the frame header and checked before anything is allocated;
// a frame that declares more blocks than its file could possibly code (at least one bit per
// block) is refused as malformed before allocation too. Decoding time is linear in the input
// size plus the number of blocks times the number of scans (capped at MaxScans); blocks in
// end-of-band runs of progressive scans cost next to nothing.
//
// # What is written
//
// Encode writes SOI; every APPn (JFIF, EXIF, XMP, ICC, APP11 JUMBF/C2PA, Adobe …), COM and
// DQT segment found before the first scan, byte for byte and in their order (segments found
// between the frame header and the first scan are moved before the frame header, keeping their
// order); a DQT segment only if a component's table differs from what those kept segments
// define; the frame header (SOF0 when every quantisation table is 8-bit, SOF1 otherwise); one
// DHT segment with Huffman tables optimised for this image (two passes: symbol statistics, then
// length-limited codes per ITU T.81 Annex K.2; one table pair for luma, one for chroma); the
// input's restart interval (DRI); one interleaved sequential scan (a progressive input becomes
// sequential), or one scan per component when an MCU would exceed the ten blocks T.81 allows;
// and EOI. DHT and DRI segments of the input are replaced by the new ones. Segments after the
// first scan (between progressive scans, or after the last one) and bytes after EOI are
// dropped.
//
// Pixels and Replace need a layout that image.YCbCr can hold (luma sampling a whole multiple
// of the chroma sampling, chroma components alike: 4:4:4, 4:2:2, 4:2:0, 4:4:0, 4:1:1, 4:1:0) or
// a grey image, and refuse RGB-coded JPEGs, with errors wrapping formats.ErrUnsupported. They
// work in whole MCUs (BlockAligned): Replace re-quantises the whole MCUs it covers, so pixels of
// those MCUs that the caller did not change lose a little (one generation), and nothing else
// does.
package dct
