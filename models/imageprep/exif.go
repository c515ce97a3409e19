package imageprep

import "encoding/binary"

// jpegOrientation walks the JPEG marker segments up to the first scan and
// returns the EXIF orientation (1–8) from the first APP1 "Exif" segment that
// carries one, or 1. Every read is bounds-checked: data is untrusted.
func jpegOrientation(data []byte) int {
	if len(data) < 4 || data[0] != 0xFF || data[1] != 0xD8 {
		return 1
	}
	pos := 2
	for pos+4 <= len(data) {
		if data[pos] != 0xFF {
			return 1 // not at a marker: give up rather than guess
		}
		m := data[pos+1]
		switch {
		case m == 0xFF: // fill byte
			pos++
			continue
		case m == 0x01 || (m >= 0xD0 && m <= 0xD8): // standalone markers
			pos += 2
			continue
		case m == 0xDA || m == 0xD9: // start of scan, end of image
			return 1
		}
		n := int(binary.BigEndian.Uint16(data[pos+2:]))
		if n < 2 || pos+2+n > len(data) {
			return 1
		}
		seg := data[pos+4 : pos+2+n]
		if m == 0xE1 && len(seg) >= 6 && string(seg[:6]) == "Exif\x00\x00" {
			if o := exifOrientation(seg[6:]); o != 0 {
				return o
			}
		}
		pos += 2 + n
	}
	return 1
}

// exifOrientation reads tag 0x0112 from IFD0 of a TIFF structure (the body
// of an APP1 Exif segment after "Exif\0\0"), in either byte order. It returns
// 1–8, or 0 when the tag is absent, malformed or out of range.
func exifOrientation(t []byte) int {
	if len(t) < 8 {
		return 0
	}
	var bo binary.ByteOrder
	switch string(t[:2]) {
	case "II":
		bo = binary.LittleEndian
	case "MM":
		bo = binary.BigEndian
	default:
		return 0
	}
	if bo.Uint16(t[2:]) != 42 {
		return 0
	}
	off := uint64(bo.Uint32(t[4:]))
	if off+2 > uint64(len(t)) {
		return 0
	}
	count := uint64(bo.Uint16(t[off:]))
	for i := uint64(0); i < count; i++ {
		e := off + 2 + 12*i
		if e+12 > uint64(len(t)) {
			return 0
		}
		if bo.Uint16(t[e:]) != 0x0112 {
			continue
		}
		typ, n := bo.Uint16(t[e+2:]), bo.Uint32(t[e+4:])
		if n < 1 {
			return 0
		}
		var v uint32
		switch typ {
		case 3: // SHORT, stored left-justified in the value field
			v = uint32(bo.Uint16(t[e+8:]))
		case 4: // LONG: not per spec, but seen in the wild
			v = bo.Uint32(t[e+8:])
		default:
			return 0
		}
		if v >= 1 && v <= 8 {
			return int(v)
		}
		return 0
	}
	return 0
}
