package transform

import (
	"encoding/binary"
	"fmt"
	"strings"
	"sync"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// This file is the one JSON parser of the package: it reads the interview
// body in one pass straight into the wire structs below. It accepts and
// refuses what encoding/json's Unmarshal would with the structs the schema
// describes, and yields the same strings, with one exception: a repeated
// key of the schema (say two "content" in one message) is refused, where
// Unmarshal would merge the two values. FuzzDecodeMatchesEncodingJSON holds
// it to that, with encoding/json as the reference.
//
// Why not encoding/json: it validates the whole body, then decodes it
// through reflection and allocates every string and pointer: 90-150 µs a
// transcript, about half the CPU an exported proposal cost. This parser
// takes a fifth of that (BenchmarkDecode runs both), returning substrings of
// the body itself for every string that needs no unescaping (almost all of
// them), with no copy.

// maxDepth is the deepest nesting of arrays and objects accepted, as in
// encoding/json.
const maxDepth = 10000

// wireString is a JSON string field of the schema.
type wireString struct {
	s string
	// set is true when the field holds a string (not absent, not null).
	set bool
	// escaped is true when s came from the unescaping path: it may then hold
	// NUL characters, which stored text drops.
	escaped bool
}

// wireScore is the score field: absent or null, a number literal, or
// another kind of value.
type wireScore struct {
	literal string // the number as sent, when number is true
	number  bool
	other   bool // a string, boolean, object or array
}

type wireInterview struct {
	set                              bool
	proposalID, interviewID, summary wireString
	score                            wireScore
	messages                         []wireMessage
	messagesSet                      bool
}

type wireMessage struct {
	null                      bool
	id, role, content, sentAt wireString
}

// syntaxError is a body that is not one JSON value.
type syntaxError struct {
	offset int
	msg    string
}

// parser reads one body. The first schema error (a value of the wrong type)
// is kept while parsing goes on to the end, so that, as with encoding/json,
// a syntax error anywhere in the body wins over it.
type parser struct {
	s         string
	pos       int
	depth     int
	syntax    *syntaxError
	schemaErr *InvalidResponseError
}

// parseBody parses a 200 body of the interview endpoint. The strings it
// returns share body's memory: body must not change afterwards.
func parseBody(body []byte) (wireInterview, error) {
	p := parser{s: unsafe.String(unsafe.SliceData(body), len(body))}
	var iv wireInterview
	p.skipSpace()
	switch p.peek() {
	case '{':
		seen := false
		p.object(func(key string) {
			if !strings.EqualFold(key, "interview") {
				p.skipValue()
				return
			}
			if seen {
				p.duplicate("interview")
			}
			seen = true
			p.interview(&iv)
		})
	case 'n':
		p.literal("null")
	default:
		p.wrongType("")
		p.skipValue()
	}
	if p.syntax == nil {
		p.skipSpace()
		if p.pos < len(p.s) {
			p.fail("invalid character after the top-level value")
		}
	}
	if p.syntax != nil {
		return wireInterview{}, &InvalidResponseError{Reason: fmt.Sprintf("not valid JSON (at byte %d): %s", p.syntax.offset, p.syntax.msg)}
	}
	if p.schemaErr != nil {
		return wireInterview{}, p.schemaErr
	}
	return iv, nil
}

// interview reads the value of "interview".
func (p *parser) interview(iv *wireInterview) {
	switch p.peek() {
	case 'n':
		p.literal("null") // no interview, as if absent
		return
	case '{':
	default:
		p.wrongType("interview")
		p.skipValue()
		return
	}
	iv.set = true
	seen := 0
	p.object(func(key string) {
		switch {
		case strings.EqualFold(key, "proposalId"):
			p.once(&seen, 1, "interview.proposalId")
			iv.proposalID = p.stringField("interview.proposalId")
		case strings.EqualFold(key, "interviewId"):
			p.once(&seen, 2, "interview.interviewId")
			iv.interviewID = p.stringField("interview.interviewId")
		case strings.EqualFold(key, "score"):
			p.once(&seen, 4, "interview.score")
			iv.score = p.score()
		case strings.EqualFold(key, "summary"):
			p.once(&seen, 8, "interview.summary")
			iv.summary = p.stringField("interview.summary")
		case strings.EqualFold(key, "messages"):
			p.once(&seen, 16, "interview.messages")
			iv.messages, iv.messagesSet = p.messages()
		default:
			p.skipValue()
		}
	})
}

func (p *parser) score() wireScore {
	switch c := p.peek(); {
	case c == 'n':
		p.literal("null")
		return wireScore{}
	case c == '-' || '0' <= c && c <= '9':
		start := p.pos
		p.number()
		return wireScore{literal: p.s[start:p.pos], number: true}
	}
	p.skipValue()
	return wireScore{other: true}
}

func (p *parser) messages() ([]wireMessage, bool) {
	switch p.peek() {
	case 'n':
		p.literal("null")
		return nil, false
	case '[':
	default:
		p.wrongType("interview.messages")
		p.skipValue()
		return nil, false
	}
	msgs := wireMessages.Get().(*[]wireMessage)
	*msgs = (*msgs)[:0]
	p.array(func(i int) {
		*msgs = append(*msgs, wireMessage{})
		m := &(*msgs)[len(*msgs)-1]
		switch p.peek() {
		case 'n':
			p.literal("null")
			m.null = true
			return
		case '{':
		default:
			p.wrongType(fmt.Sprintf("interview.messages[%d]", i))
			p.skipValue()
			return
		}
		seen := 0
		p.object(func(key string) {
			var dst *wireString
			bit := 0
			switch {
			case strings.EqualFold(key, "id"):
				dst, bit = &m.id, 1
			case strings.EqualFold(key, "role"):
				dst, bit = &m.role, 2
			case strings.EqualFold(key, "content"):
				dst, bit = &m.content, 4
			case strings.EqualFold(key, "sentAt"):
				dst, bit = &m.sentAt, 8
			default:
				p.skipValue()
				return
			}
			if seen&bit != 0 {
				p.duplicate(messageField(i, bit))
			}
			seen |= bit
			var ok bool
			if *dst, ok = p.stringValue(); !ok {
				p.wrongType(messageField(i, bit))
				p.skipValue()
			}
		})
	})
	return *msgs, true
}

// messageField names field bit of message i in errors.
func messageField(i, bit int) string {
	name := [...]string{1: "id", 2: "role", 4: "content", 8: "sentAt"}[bit]
	return fmt.Sprintf("interview.messages[%d].%s", i, name)
}

// wireMessages recycles the arrays messages parses into: Decode copies
// what it keeps out of them, and a transcript body's rate makes them the
// largest allocation of a decode.
var wireMessages = sync.Pool{New: func() any { return new([]wireMessage) }}

// releaseWire hands in's message array back for the next body.
func releaseWire(in *wireInterview) {
	if cap(in.messages) == 0 || cap(in.messages) > 4096 {
		return // none, or one so large that keeping it would hold memory for nothing
	}
	clear(in.messages) // no string of this body stays reachable from the pool
	msgs := in.messages[:0]
	in.messages = nil
	wireMessages.Put(&msgs)
}

// stringValue reads a string or null; ok is false, and nothing is read,
// when another kind of value is there.
func (p *parser) stringValue() (w wireString, ok bool) {
	switch p.peek() {
	case '"':
		s, escaped := p.str()
		return wireString{s: s, set: true, escaped: escaped}, true
	case 'n':
		p.literal("null")
		return wireString{}, true
	}
	return wireString{}, false
}

// stringField reads a value that the schema wants to be a string or null.
func (p *parser) stringField(field string) wireString {
	w, ok := p.stringValue()
	if !ok {
		p.wrongType(field)
		p.skipValue()
	}
	return w
}

// wrongType records that the value at the parser's position is not of the
// type the schema wants at field.
func (p *parser) wrongType(field string) {
	if p.schemaErr != nil || p.syntax != nil {
		return
	}
	kind := "value"
	switch c := p.peek(); {
	case c == '{':
		kind = "object"
	case c == '[':
		kind = "array"
	case c == '"':
		kind = "string"
	case c == 't' || c == 'f':
		kind = "bool"
	case c == '-' || '0' <= c && c <= '9':
		kind = "number"
	}
	p.schemaErr = &InvalidResponseError{Field: field, Reason: fmt.Sprintf("a JSON %s where the schema wants another type", kind)}
}

// once records field bit in seen, and the field as given twice when it was
// there already.
func (p *parser) once(seen *int, bit int, field string) {
	if *seen&bit != 0 {
		p.duplicate(field)
	}
	*seen |= bit
}

func (p *parser) duplicate(field string) {
	if p.schemaErr == nil && p.syntax == nil {
		p.schemaErr = &InvalidResponseError{Field: field, Reason: "given twice"}
	}
}

func (p *parser) fail(msg string) {
	if p.syntax == nil {
		p.syntax = &syntaxError{offset: p.pos, msg: msg}
	}
	p.pos = len(p.s) // stop everything that reads on
}

// peek returns the next byte, 0 at the end.
func (p *parser) peek() byte {
	if p.pos < len(p.s) {
		return p.s[p.pos]
	}
	return 0
}

func (p *parser) skipSpace() {
	for p.pos < len(p.s) {
		switch p.s[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

// object reads an object at the parser's position, calling member with the
// parser after each key's colon (and the space after it).
func (p *parser) object(member func(key string)) {
	if !p.enter() {
		return
	}
	p.pos++ // {
	p.skipSpace()
	if p.peek() == '}' {
		p.pos++
		p.leave()
		return
	}
	for p.syntax == nil {
		if p.peek() != '"' {
			p.fail("expected a string as an object key")
			return
		}
		key, _ := p.str()
		p.skipSpace()
		if p.peek() != ':' {
			p.fail("expected ':' after an object key")
			return
		}
		p.pos++
		p.skipSpace()
		member(key)
		p.skipSpace()
		switch p.peek() {
		case ',':
			p.pos++
			p.skipSpace()
		case '}':
			p.pos++
			p.leave()
			return
		default:
			p.fail("expected ',' or '}' after an object value")
		}
	}
}

// array reads an array at the parser's position, calling element with the
// parser at each element.
func (p *parser) array(element func(i int)) {
	if !p.enter() {
		return
	}
	p.pos++ // [
	p.skipSpace()
	if p.peek() == ']' {
		p.pos++
		p.leave()
		return
	}
	for i := 0; p.syntax == nil; i++ {
		element(i)
		p.skipSpace()
		switch p.peek() {
		case ',':
			p.pos++
			p.skipSpace()
		case ']':
			p.pos++
			p.leave()
			return
		default:
			p.fail("expected ',' or ']' after an array element")
		}
	}
}

func (p *parser) enter() bool {
	p.depth++
	if p.depth > maxDepth {
		p.fail("exceeded max depth")
		return false
	}
	return true
}

func (p *parser) leave() { p.depth-- }

// skipValue reads any value and drops it.
func (p *parser) skipValue() {
	switch c := p.peek(); {
	case c == '{':
		p.object(func(string) { p.skipValue() })
	case c == '[':
		p.array(func(int) { p.skipValue() })
	case c == '"':
		p.skipString()
	case c == 't':
		p.literal("true")
	case c == 'f':
		p.literal("false")
	case c == 'n':
		p.literal("null")
	case c == '-' || '0' <= c && c <= '9':
		p.number()
	case p.pos >= len(p.s):
		p.fail("unexpected end of JSON input")
	default:
		p.fail(fmt.Sprintf("invalid character %q looking for the beginning of a value", c))
	}
}

func (p *parser) literal(lit string) {
	if !strings.HasPrefix(p.s[p.pos:], lit) {
		p.fail("invalid literal")
		return
	}
	p.pos += len(lit)
}

// number reads a number with JSON's grammar:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (p *parser) number() {
	digits := func() int {
		start := p.pos
		for p.pos < len(p.s) && '0' <= p.s[p.pos] && p.s[p.pos] <= '9' {
			p.pos++
		}
		return p.pos - start
	}
	if p.peek() == '-' {
		p.pos++
	}
	switch c := p.peek(); {
	case c == '0':
		p.pos++
	case '1' <= c && c <= '9':
		digits()
	default:
		p.fail("invalid number")
		return
	}
	if p.peek() == '.' {
		p.pos++
		if digits() == 0 {
			p.fail("invalid number: no digit after the decimal point")
			return
		}
	}
	if c := p.peek(); c == 'e' || c == 'E' {
		p.pos++
		if c := p.peek(); c == '+' || c == '-' {
			p.pos++
		}
		if digits() == 0 {
			p.fail("invalid number: no digit in the exponent")
		}
	}
}

// plain marks the bytes a string can hold as they are: not a quote, a
// backslash, a control character or the start of a multi-byte sequence.
var plain = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// plainWord tells whether the 8 bytes of w are all plain ASCII: none is a
// quote, a backslash, a control character or at least 0x80. (These are
// the classic "has a zero byte" and "has a byte less than n" bit tricks;
// they never miss one.)
func plainWord(w string) bool {
	x := binary.LittleEndian.Uint64([]byte(w))
	quote, backslash := x^(ones*'"'), x^(ones*'\\')
	special := (x - ones*0x20) & ^x // a byte below 0x20
	special |= (quote - ones) & ^quote
	special |= (backslash - ones) & ^backslash
	return (special|x)&highs == 0
}

// str reads a string and returns its value as encoding/json would: escapes
// resolved, each byte of invalid UTF-8 and each lone surrogate escape as
// U+FFFD. escaped tells that the unescaping path built it; otherwise it is a
// substring of the body.
func (p *parser) str() (s string, escaped bool) {
	start := p.pos + 1
	i := start
	for i < len(p.s) {
		if i+8 <= len(p.s) && plainWord(p.s[i:i+8]) {
			i += 8
			continue
		}
		c := p.s[i]
		if plain[c] {
			i++
			continue
		}
		if c == '"' {
			p.pos = i + 1
			return p.s[start:i], false
		}
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(p.s[i:])
			if r != utf8.RuneError || size != 1 {
				i += size
				continue
			}
		}
		break // an escape, a control character or invalid UTF-8
	}
	return p.unescape(start, i), true
}

// skipString reads a string whose value is not needed.
func (p *parser) skipString() {
	for i := p.pos + 1; i < len(p.s); i++ {
		switch c := p.s[i]; {
		case c == '"':
			p.pos = i + 1
			return
		case c == '\\':
			p.pos = i
			if !p.escape(nil) {
				return
			}
			i = p.pos - 1
		case c < 0x20:
			p.pos = i
			p.fail("invalid control character in string literal")
			return
		}
	}
	p.pos = len(p.s)
	p.fail("unexpected end of JSON input")
}

// unescape builds the value of the string that opened at start, whose
// bytes up to from need no change.
func (p *parser) unescape(start, from int) string {
	b := make([]byte, 0, from-start+32)
	b = append(b, p.s[start:from]...)
	p.pos = from
	for p.pos < len(p.s) {
		switch c := p.s[p.pos]; {
		case c == '"':
			p.pos++
			return unsafe.String(unsafe.SliceData(b), len(b)) // b is not written again
		case c == '\\':
			if !p.escape(&b) {
				return ""
			}
		case c < 0x20:
			p.fail("invalid control character in string literal")
			return ""
		case c < utf8.RuneSelf:
			b = append(b, c)
			p.pos++
		default:
			r, size := utf8.DecodeRuneInString(p.s[p.pos:])
			p.pos += size
			b = utf8.AppendRune(b, r) // U+FFFD for a byte of invalid UTF-8
		}
	}
	p.fail("unexpected end of JSON input")
	return ""
}

// escape reads the escape sequence at the parser's position and, when b is
// not nil, appends what it stands for.
func (p *parser) escape(b *[]byte) bool {
	if p.pos+1 >= len(p.s) {
		p.pos = len(p.s)
		p.fail("unexpected end of JSON input")
		return false
	}
	var c byte
	switch p.s[p.pos+1] {
	case '"', '\\', '/':
		c = p.s[p.pos+1]
	case 'b':
		c = '\b'
	case 'f':
		c = '\f'
	case 'n':
		c = '\n'
	case 'r':
		c = '\r'
	case 't':
		c = '\t'
	case 'u':
		r, ok := p.hex4(p.pos + 2)
		if !ok {
			return false
		}
		p.pos += 6
		if utf16.IsSurrogate(r) {
			// A pair is two escapes; anything else leaves a lone surrogate,
			// which becomes U+FFFD while what follows is read on its own.
			if r2, ok := p.peekHex4(); ok {
				if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
					p.pos += 6
					r = dec
				} else {
					r = utf8.RuneError
				}
			} else {
				r = utf8.RuneError
			}
		}
		if b != nil {
			*b = utf8.AppendRune(*b, r)
		}
		return true
	default:
		p.pos++
		p.fail("invalid escape sequence in string literal")
		return false
	}
	p.pos += 2
	if b != nil {
		*b = append(*b, c)
	}
	return true
}

// hex4 reads the four hexadecimal digits at i.
func (p *parser) hex4(i int) (rune, bool) {
	if i+4 > len(p.s) {
		p.pos = len(p.s)
		p.fail("unexpected end of JSON input")
		return 0, false
	}
	r, bad := decodeHex4(p.s[i : i+4])
	if bad >= 0 {
		p.pos = i + bad
		p.fail("invalid character in \\u escape")
		return 0, false
	}
	return r, true
}

// peekHex4 returns the code unit of a \uXXXX escape at the parser's
// position, if one is there, without moving.
func (p *parser) peekHex4() (rune, bool) {
	if p.pos+6 > len(p.s) || p.s[p.pos] != '\\' || p.s[p.pos+1] != 'u' {
		return 0, false
	}
	r, bad := decodeHex4(p.s[p.pos+2 : p.pos+6])
	return r, bad < 0
}

// decodeHex4 decodes four hexadecimal digits; bad is the index of the first
// byte that is not one, -1 when all are.
func decodeHex4(s string) (r rune, bad int) {
	for i := range 4 {
		c := s[i]
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, i
		}
		r = r<<4 | rune(c)
	}
	return r, -1
}
