// Package softkms is the software key backend: Ed25519 keys in PKCS#8 PEM
// files on local disk, named "softkms:path=/abs/file.key". Key files that
// are readable by group or others are refused. Software keys stream, so
// they can pure-sign archives of any size.
package softkms
