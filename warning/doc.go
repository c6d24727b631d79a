// Package warning holds ailabel's human-readable warnings: a catalogue of message texts by
// language and a renderer that draws a visible badge, caption band or EU-style icon onto an
// image.
//
// The texts serve three regimes. Kazakhstan's Law on Artificial Intelligence (Art. 21) wants a
// visual warning the user can perceive; Kazakh and Russian are shown by default. China's
// GB 45438-2025 wants an explicit label containing "AI" or "人工智能" with "生成" or "合成",
// at least 5 % of the image's shortest side high (Spec.MinTextHeight = 0.05). The EU AI Act
// Art. 50 and its Code of Practice call for a common icon with a localisable two-letter acronym
// (Style EUIcon).
//
// The Kazakh, Russian, English and Chinese texts were chosen for those laws (sources in
// catalogue.go). The texts in the other languages are translations that native speakers should
// review before they are relied on; a deployment can override any text with Catalogue.With or a
// messages file read by Parse.
//
// Text is drawn with two embedded fonts, Noto Sans Bold (Latin, Greek, Cyrillic including all
// Kazakh letters; SIL OFL 1.1) and Droid Sans Fallback (CJK; Apache-2.0), one glyph per rune
// with per-rune fallback and no complex shaping: scripts that need shaping or right-to-left
// layout (Arabic, Hebrew, Indic) are not supported, and Render reports runes neither font has.
// The licences are in the fonts folder.
//
// The plate is near-black at 92 % opacity with white, anti-aliased text, so the text contrast
// stays above 14:1 (WCAG 2 asks for 4.5:1) on light, dark and busy images alike.
package warning
