// Package photos generates deterministic, procedural photo-like pictures for
// testing image watermarks and fingerprints: skies and gradients, fractal
// (fBm) texture, foliage-like noise, hard-edged shapes, flat areas, periodic
// patterns, dark and bright scenes, with sensor noise and vignetting, in
// sizes from 512×384 to 2048×1536 (landscape, portrait and square).
//
// The pictures are synthetic: no photographs are stored or downloaded.
package photos

import (
	"image"
	"math"
	"math/rand/v2"
)

// sizes lists the picture sizes Photo draws from (width, height).
var sizes = [][2]int{
	{512, 384}, {640, 480}, {384, 512}, {768, 512}, {600, 800}, {800, 800},
	{1024, 768}, {1280, 720}, {720, 1280}, {1024, 683}, {512, 512}, {900, 600},
	{1600, 1200}, {1200, 1600}, {2048, 1536}, {1920, 1080}, {640, 640}, {1000, 750},
}

// SceneKinds is the number of scene kinds Photo draws from.
const SceneKinds = 8

// Generate returns n pictures for seed: Photo(0, seed) … Photo(n-1, seed).
// Large n costs memory (up to 12 MB a picture); iterate with Photo instead.
func Generate(n int, seed int64) []image.Image {
	out := make([]image.Image, n)
	for i := range out {
		out[i] = Photo(i, seed)
	}
	return out
}

// Photo returns picture i of the sequence for seed, with its size taken
// from a fixed list (512×384 … 2048×1536) and its scene kind i mod
// SceneKinds.
func Photo(i int, seed int64) *image.NRGBA {
	rng := rand.New(rand.NewPCG(uint64(seed), uint64(i)*0x9e3779b97f4a7c15+1))
	sz := sizes[rng.IntN(len(sizes))]
	return render(sz[0], sz[1], i%SceneKinds, rng)
}

// Sized returns picture i for seed at the given size (for cheap tests on
// small pictures). Width and height must be positive.
func Sized(w, h int, i int, seed int64) *image.NRGBA {
	rng := rand.New(rand.NewPCG(uint64(seed), uint64(i)*0x9e3779b97f4a7c15+1))
	_ = rng.IntN(len(sizes)) // same stream position as Photo
	return render(w, h, i%SceneKinds, rng)
}

type rgb [3]float64

// field is a float luminance/colour plane being composed.
type field struct {
	w, h int
	px   []rgb
}

func render(w, h, kind int, rng *rand.Rand) *image.NRGBA {
	f := &field{w: w, h: h, px: make([]rgb, w*h)}
	switch kind {
	case 0:
		landscape(f, rng)
	case 1:
		textureScene(f, rng)
	case 2:
		stillLife(f, rng)
	case 3:
		foliage(f, rng)
	case 4: // dark scene
		if rng.IntN(2) == 0 {
			landscape(f, rng)
		} else {
			textureScene(f, rng)
		}
		tone(f, 0.25+0.15*rng.Float64(), 1.6)
		lights(f, rng)
	case 5: // bright, high-key scene
		if rng.IntN(2) == 0 {
			stillLife(f, rng)
		} else {
			textureScene(f, rng)
		}
		lift(f, 150+40*rng.Float64())
	case 6:
		periodic(f, rng)
	case 7:
		portrait(f, rng)
	}
	vignette(f, 0.1+0.25*rng.Float64())
	return finish(f, 0.4+2.2*rng.Float64(), rng)
}

// noise2 is lattice value noise with smooth (cubic Hermite) interpolation.
type noise2 struct {
	gw, gh int
	v      []float64
}

func newNoise(gw, gh int, rng *rand.Rand) *noise2 {
	n := &noise2{gw: gw + 2, gh: gh + 2, v: make([]float64, (gw+2)*(gh+2))}
	for i := range n.v {
		n.v[i] = rng.Float64()*2 - 1
	}
	return n
}

func (n *noise2) at(u, v float64) float64 { // u, v in lattice units
	i, j := int(u), int(v)
	fu, fv := u-float64(i), v-float64(j)
	i, j = min(max(i, 0), n.gw-2), min(max(j, 0), n.gh-2)
	fu = fu * fu * (3 - 2*fu)
	fv = fv * fv * (3 - 2*fv)
	a := n.v[j*n.gw+i] + fu*(n.v[j*n.gw+i+1]-n.v[j*n.gw+i])
	b := n.v[(j+1)*n.gw+i] + fu*(n.v[(j+1)*n.gw+i+1]-n.v[(j+1)*n.gw+i])
	return a + fv*(b-a)
}

// fbm returns a w×h fractal field in about [-1, 1]: octaves of value noise
// from a lattice period of base pixels, halving each octave.
func fbm(w, h int, base float64, octaves int, persistence float64, rng *rand.Rand) []float64 {
	out := make([]float64, w*h)
	amp, total := 1.0, 0.0
	period := base
	for range octaves {
		if period < 1.5 {
			break
		}
		n := newNoise(int(float64(w)/period)+2, int(float64(h)/period)+2, rng)
		inv := 1 / period
		// Per column: lattice index and smoothed weight (as noise2.at).
		xi := make([]int, w)
		xf := make([]float64, w)
		for x := range w {
			u := float64(x) * inv
			i := min(max(int(u), 0), n.gw-2)
			f := u - float64(int(u))
			xi[x], xf[x] = i, f*f*(3-2*f)
		}
		for y := range h {
			v := float64(y) * inv
			j := min(max(int(v), 0), n.gh-2)
			fv := v - float64(int(v))
			fv = fv * fv * (3 - 2*fv)
			r0, r1 := n.v[j*n.gw:(j+1)*n.gw], n.v[(j+1)*n.gw:(j+2)*n.gw]
			row := out[y*w : (y+1)*w]
			for x := range row {
				i, fu := xi[x], xf[x]
				a := r0[i] + fu*(r0[i+1]-r0[i])
				b := r1[i] + fu*(r1[i+1]-r1[i])
				row[x] += amp * (a + fv*(b-a))
			}
		}
		total += amp
		amp *= persistence
		period /= 2
	}
	for i := range out {
		out[i] /= total
	}
	return out
}

func randColor(rng *rand.Rand, lo, hi float64) rgb {
	return rgb{lo + (hi-lo)*rng.Float64(), lo + (hi-lo)*rng.Float64(), lo + (hi-lo)*rng.Float64()}
}

func mix(a, b rgb, t float64) rgb {
	return rgb{a[0] + (b[0]-a[0])*t, a[1] + (b[1]-a[1])*t, a[2] + (b[2]-a[2])*t}
}

// palette maps t ∈ [0,1] through a gradient of colours.
func palette(cs []rgb, t float64) rgb {
	t = min(max(t, 0), 1) * float64(len(cs)-1)
	i := min(int(t), len(cs)-2)
	return mix(cs[i], cs[i+1], t-float64(i))
}

func landscape(f *field, rng *rand.Rand) {
	w, h := f.w, f.h
	top := rgb{40 + 60*rng.Float64(), 90 + 60*rng.Float64(), 180 + 70*rng.Float64()}
	hor := rgb{180 + 60*rng.Float64(), 190 + 50*rng.Float64(), 200 + 50*rng.Float64()}
	clouds := fbm(w, h, float64(w)/3, 6, 0.55, rng)
	cloudAmt := 0.6 * rng.Float64()
	hline := fbm(w, 1, float64(w)/4, 5, 0.5, rng)
	horizon := 0.35 + 0.3*rng.Float64()
	ground := fbm(w, h, 64+64*rng.Float64(), 7, 0.6+0.1*rng.Float64(), rng)
	gp := []rgb{randColor(rng, 10, 60), {40 + 40*rng.Float64(), 70 + 60*rng.Float64(), 20 + 30*rng.Float64()}, randColor(rng, 90, 200)}
	for y := range h {
		fy := float64(y) / float64(h)
		for x := range w {
			hy := horizon + 0.08*hline[x]
			i := y*w + x
			if fy < hy {
				c := mix(top, hor, fy/hy)
				cl := max(clouds[i], 0) * cloudAmt * 2
				f.px[i] = mix(c, rgb{245, 245, 245}, min(cl, 1))
			} else {
				d := (fy - hy) / (1 - hy)
				f.px[i] = palette(gp, 0.5+0.8*ground[i]+0.2*d)
			}
		}
	}
	// A few buildings or rocks: hard-edged, mostly flat.
	for range rng.IntN(5) {
		bw := int(float64(w) * (0.05 + 0.15*rng.Float64()))
		bh := int(float64(h) * (0.1 + 0.3*rng.Float64()))
		x0 := rng.IntN(max(w-bw, 1))
		base := int(horizon*float64(h)) + rng.IntN(max(h/10, 1))
		c := randColor(rng, 30, 220)
		rect(f, x0, base-bh, x0+bw, base, c)
		for range rng.IntN(12) { // windows
			wx := x0 + rng.IntN(max(bw-8, 1))
			wy := base - bh + rng.IntN(max(bh-8, 1))
			rect(f, wx, wy, wx+4+rng.IntN(10), wy+4+rng.IntN(10), randColor(rng, 0, 255))
		}
	}
}

func rect(f *field, x0, y0, x1, y1 int, c rgb) {
	for y := max(y0, 0); y < min(y1, f.h); y++ {
		for x := max(x0, 0); x < min(x1, f.w); x++ {
			f.px[y*f.w+x] = c
		}
	}
}

func textureScene(f *field, rng *rand.Rand) {
	n := fbm(f.w, f.h, float64(min(f.w, f.h))/(1+3*rng.Float64()), 8, 0.45+0.25*rng.Float64(), rng)
	cs := []rgb{randColor(rng, 0, 120), randColor(rng, 60, 200), randColor(rng, 120, 255), randColor(rng, 40, 230)}
	ridged := rng.IntN(3) == 0
	for i, v := range n {
		if ridged {
			v = 1 - 2*math.Abs(v)
		}
		f.px[i] = palette(cs, 0.5+0.9*v)
	}
}

func foliage(f *field, rng *rand.Rand) {
	foliageContrast(f, rng, 0.8+0.4*rng.Float64())
}

// foliageContrast draws leaves of lattice period 6 … 16 px over broad
// shade; contrast 1 is dense sunlit foliage, 1.6 a near-binary camouflage
// texture (see Stress).
func foliageContrast(f *field, rng *rand.Rand, contrast float64) {
	w, h := f.w, f.h
	leaves := fbm(w, h, 6+10*rng.Float64(), 4, 0.7, rng)
	shade := fbm(w, h, float64(w)/3, 5, 0.5, rng)
	dark := rgb{5 + 20*rng.Float64(), 15 + 30*rng.Float64(), 5 + 15*rng.Float64()}
	mid := rgb{40 + 50*rng.Float64(), 90 + 60*rng.Float64(), 20 + 40*rng.Float64()}
	light := rgb{140 + 60*rng.Float64(), 180 + 60*rng.Float64(), 60 + 80*rng.Float64()}
	for i := range f.px {
		t := 0.5 + contrast*leaves[i] + 0.6*shade[i]
		f.px[i] = palette([]rgb{dark, mid, light}, t)
	}
}

// Stress returns a w×h near-binary, high-contrast foliage ("camouflage")
// texture, harsher than the foliage scenes of Photo: a stress case.
func Stress(w, h int, seed int64) *image.NRGBA {
	rng := rand.New(rand.NewPCG(uint64(seed), 0x5eed))
	f := &field{w: w, h: h, px: make([]rgb, w*h)}
	foliageContrast(f, rng, 1.6)
	return finish(f, 1, rng)
}

func stillLife(f *field, rng *rand.Rand) {
	w, h := f.w, f.h
	a, b := randColor(rng, 20, 235), randColor(rng, 20, 235)
	vertical := rng.IntN(2) == 0
	for y := range h {
		for x := range w {
			t := float64(x) / float64(w)
			if vertical {
				t = float64(y) / float64(h)
			}
			f.px[y*w+x] = mix(a, b, t)
		}
	}
	for range 4 + rng.IntN(12) {
		c := randColor(rng, 0, 255)
		c2 := randColor(rng, 0, 255)
		cx, cy := rng.Float64()*float64(w), rng.Float64()*float64(h)
		r := float64(min(w, h)) * (0.04 + 0.2*rng.Float64())
		kind := rng.IntN(3)
		grad := rng.IntN(2) == 0
		for y := max(int(cy-r), 0); y < min(int(cy+r)+1, h); y++ {
			for x := max(int(cx-r), 0); x < min(int(cx+r)+1, w); x++ {
				dx, dy := float64(x)-cx, float64(y)-cy
				in := false
				switch kind {
				case 0:
					in = dx*dx+dy*dy <= r*r
				case 1:
					in = math.Abs(dx) <= r && math.Abs(dy) <= r*0.6
				case 2:
					in = dy <= r*0.8 && math.Abs(dx) <= (dy+r)*0.5
				}
				if !in {
					continue
				}
				col := c
				if grad {
					col = mix(c, c2, (dy/r+1)/2)
				}
				f.px[y*w+x] = col
			}
		}
	}
}

func periodic(f *field, rng *rand.Rand) {
	w, h := f.w, f.h
	period := 6 + rng.IntN(60)
	a, b := randColor(rng, 30, 200), randColor(rng, 30, 220)
	kind := rng.IntN(3)
	grain := fbm(w, h, 8, 3, 0.6, rng)
	for y := range h {
		for x := range w {
			var t float64
			switch kind {
			case 0: // stripes
				t = 0.5 + 0.5*math.Sin(2*math.Pi*float64(x+y/3)/float64(period))
			case 1: // bricks
				row := y / period
				off := (row % 2) * period
				bx := (x + off) % (2 * period)
				if y%period < 2 || bx < 2 {
					t = 0
				} else {
					t = 1
				}
			case 2: // checks
				if (x/period+y/period)%2 == 0 {
					t = 1
				}
			}
			f.px[y*w+x] = mix(a, b, min(max(t+0.15*grain[y*w+x], 0), 1))
		}
	}
}

func portrait(f *field, rng *rand.Rand) {
	w, h := f.w, f.h
	bg1, bg2 := randColor(rng, 30, 200), randColor(rng, 30, 200)
	skin := rgb{150 + 80*rng.Float64(), 100 + 60*rng.Float64(), 70 + 60*rng.Float64()}
	cx, cy := float64(w)*(0.4+0.2*rng.Float64()), float64(h)*(0.4+0.2*rng.Float64())
	rx, ry := float64(min(w, h))*0.22, float64(min(w, h))*0.3
	hair := fbm(w, h, 12, 4, 0.6, rng)
	for y := range h {
		for x := range w {
			d := math.Hypot((float64(x)-cx)/rx, (float64(y)-cy)/ry)
			bg := mix(bg1, bg2, float64(y)/float64(h))
			i := y*w + x
			switch {
			case d < 1:
				shade := 1 - 0.25*d*d
				f.px[i] = rgb{skin[0] * shade, skin[1] * shade, skin[2] * shade}
			case d < 1.25 && float64(y) < cy:
				f.px[i] = palette([]rgb{{20, 12, 8}, {90, 60, 30}}, 0.5+hair[i])
			default:
				f.px[i] = bg
			}
		}
	}
}

// tone darkens: v ← 255·scale·(v/255)^gamma.
func tone(f *field, scale, gamma float64) {
	for i, c := range f.px {
		for k := range c {
			c[k] = 255 * scale * math.Pow(max(c[k], 0)/255, gamma)
		}
		f.px[i] = c
	}
}

// lift compresses into [floor, 255].
func lift(f *field, floor float64) {
	for i, c := range f.px {
		for k := range c {
			c[k] = floor + (255-floor)*min(max(c[k], 0), 255)/255
		}
		f.px[i] = c
	}
}

func lights(f *field, rng *rand.Rand) {
	for range rng.IntN(8) {
		cx, cy := rng.IntN(f.w), rng.IntN(f.h)
		r := 2 + rng.IntN(12)
		c := randColor(rng, 200, 255)
		for y := max(cy-3*r, 0); y < min(cy+3*r, f.h); y++ {
			for x := max(cx-3*r, 0); x < min(cx+3*r, f.w); x++ {
				d := math.Hypot(float64(x-cx), float64(y-cy)) / float64(r)
				f.px[y*f.w+x] = mix(f.px[y*f.w+x], c, math.Exp(-d*d))
			}
		}
	}
}

func vignette(f *field, amt float64) {
	for y := range f.h {
		dy := (float64(y)/float64(f.h) - 0.5) * 2
		for x := range f.w {
			dx := (float64(x)/float64(f.w) - 0.5) * 2
			s := 1 - amt*(dx*dx+dy*dy)/2
			c := f.px[y*f.w+x]
			f.px[y*f.w+x] = rgb{c[0] * s, c[1] * s, c[2] * s}
		}
	}
}

// finish adds sensor noise (σ in levels, Gaussian, per channel) and
// quantises to 8 bits.
func finish(f *field, sigma float64, rng *rand.Rand) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, f.w, f.h))
	for i, c := range f.px {
		p := img.Pix[4*i : 4*i+4 : 4*i+4]
		for k := range c {
			v := c[k] + sigma*rng.NormFloat64()
			p[k] = uint8(min(max(math.Round(v), 0), 255))
		}
		p[3] = 255
	}
	return img
}
