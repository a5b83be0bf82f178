// Package imagefile reads images from outside input (files, standard input, a camera's frames),
// refusing what is not a regular file and images too large to read before decoding them.
package imagefile
