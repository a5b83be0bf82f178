//go:build !turbojpeg || !cgo

package imagefile

import "image"

// turboJPEG is false in this build: JPEG images are decoded by image/jpeg alone. Build with
// -tags turbojpeg and cgo (libturbojpeg0-dev) for libjpeg-turbo.
const turboJPEG = false

// decodeTurbo leaves every JPEG image to image/jpeg in this build.
func decodeTurbo([]byte) (image.Image, bool) { return nil, false }
