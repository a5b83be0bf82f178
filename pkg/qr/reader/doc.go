// Package reader reads QR codes from camera frames, photos and screenshots, with a strategy
// that survives light-on-dark screens, rotation, low contrast, blur and small codes in large frames.
package reader
