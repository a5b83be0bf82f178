package camera

// DefaultDevices is where V4L2 cameras' device files are on Linux.
const DefaultDevices = "/dev/video*"

// Found is a device file FindWebcams looked at: the modes it offers and the one a scan picks by
// default, or why it cannot be read.
type Found struct {
	Device string
	// Offers are the modes the device offers, in every format (ones this package cannot read
	// included).
	Offers []Offer
	// Mode is what ChooseMode picks with no Want, when a mode fits.
	Mode Mode
	// Err says why the device cannot be opened, or why no mode fits; nil when it is usable.
	Err error
}
