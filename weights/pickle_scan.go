package weights

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// scanPickle walks the opcodes of a pickle without executing it. It checks that every
// argument fits in data (so no length field can make the unpickler allocate more than
// the file holds) and refuses the globals that gopickle resolves by itself before our
// allow-list is asked (__builtin__.object, copy_reg._reconstructor): a pickle may only
// name the globals in allowedGlobals.
func scanPickle(data []byte) error {
	pos := 0
	need := func(n uint64) error {
		if n > uint64(len(data)-pos) {
			return fmt.Errorf("%w: pickle truncated at byte %d (argument of %d bytes)", ErrFormat, pos, n)
		}
		return nil
	}
	line := func() ([]byte, error) {
		i := bytes.IndexByte(data[pos:], '\n')
		if i < 0 {
			return nil, fmt.Errorf("%w: pickle truncated at byte %d (unterminated line)", ErrFormat, pos)
		}
		l := data[pos : pos+i]
		pos += i + 1
		return l, nil
	}
	checkModule := func(s []byte) error {
		switch string(s) {
		case "__builtin__", "copy_reg":
			return fmt.Errorf("%w: %s.*", ErrUnsafePickle, s)
		}
		return nil
	}
	for pos < len(data) {
		op := data[pos]
		pos++
		var n uint64 // length of a fixed or counted argument
		switch op {
		// No argument.
		case '(', '.', '0', '1', '2', 'N', 'Q', 'R', 'a', 'b', 'd', '}', 'e', 'l', ']', 'o',
			's', 't', ')', 'u', 0x81, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8f, 0x90, 0x91, 0x92,
			0x93, 0x94, 0x97, 0x98:
			if op == '.' {
				return nil
			}
			continue
		// One text line.
		case 'F', 'I', 'L', 'P', 'S', 'V', 'g', 'p':
			l, err := line()
			if err != nil {
				return err
			}
			if op == 'V' || op == 'S' {
				if err := checkModule(bytes.Trim(l, `'"`)); err != nil {
					return err
				}
			}
			continue
		// Two text lines: module and name.
		case 'c', 'i':
			mod, err := line()
			if err != nil {
				return err
			}
			name, err := line()
			if err != nil {
				return err
			}
			if err := checkModule(mod); err != nil {
				return fmt.Errorf("%w (%s.%s)", err, mod, name)
			}
			continue
		// Fixed-size arguments.
		case 'K', 'h', 'q', 0x80, 0x82:
			n = 1
		case 'M', 0x83:
			n = 2
		case 'J', 'j', 'r', 0x84:
			n = 4
		case 'G':
			n = 8
		case 0x95: // FRAME: an 8-byte length; the frame's opcodes follow inline.
			if err := need(8); err != nil {
				return err
			}
			size := binary.LittleEndian.Uint64(data[pos:])
			pos += 8
			if err := need(size); err != nil {
				return err
			}
			continue
		// Counted arguments: length prefix, then bytes.
		case 'U', 'C', 0x8a, 0x8c: // 1-byte length
			if err := need(1); err != nil {
				return err
			}
			n = uint64(data[pos])
			pos++
		case 'T', 'B', 'X', 0x8b: // 4-byte length
			if err := need(4); err != nil {
				return err
			}
			n = uint64(binary.LittleEndian.Uint32(data[pos:]))
			if op == 'T' && int32(n) < 0 {
				return fmt.Errorf("%w: negative BINSTRING length", ErrFormat)
			}
			pos += 4
		case 0x8d, 0x8e, 0x96: // 8-byte length
			if err := need(8); err != nil {
				return err
			}
			n = binary.LittleEndian.Uint64(data[pos:])
			pos += 8
		default:
			return fmt.Errorf("%w: unknown pickle opcode 0x%02x at byte %d", ErrFormat, op, pos-1)
		}
		if err := need(n); err != nil {
			return err
		}
		arg := data[pos : pos+int(n)]
		if op == 0x8c || op == 'X' || op == 0x8d || op == 'U' || op == 'T' {
			if err := checkModule(arg); err != nil {
				return err
			}
		}
		pos += int(n)
	}
	return fmt.Errorf("%w: pickle has no STOP opcode", ErrFormat)
}
