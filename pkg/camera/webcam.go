package camera

// WebcamConfig says which V4L2 camera to open and the mode to ask it for.
type WebcamConfig struct {
	// Device is the camera's device file, e.g. /dev/video0.
	Device string
	// Want is the format, size and rate; its zero value lets ChooseMode pick.
	Want Want
}

// badFrameLimit is how many undecodable frames in a row end a webcam stream: a camera sends
// a few damaged MJPEG frames as it starts, but not this many.
const badFrameLimit = 30
