package extract

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/interview-export/interview-export/internal/sanitize"
)

// MaxIDBytes is the longest valid proposal ID, in bytes.
const MaxIDBytes = 256

// maxKeptInvalid bounds how much of an invalid line is kept to be recorded,
// so one enormous line cannot exhaust memory.
const maxKeptInvalid = 1024

// InvalidIDError says why a proposal ID is refused. Such an ID is never sent
// to the API.
type InvalidIDError struct {
	Reason string
}

func (e *InvalidIDError) Error() string { return "invalid proposal ID: " + e.Reason }

// refusedID is how a refused ID is recorded: made storable (NUL removed,
// invalid bytes as U+FFFD) and cut to maxKeptInvalid bytes, marked by "…".
func refusedID(id string) string {
	if len(id) <= maxKeptInvalid {
		return sanitize.Text(id)
	}
	return sanitize.Text(strings.ToValidUTF8(id[:maxKeptInvalid], "")) + "…"
}

// notInIDs are characters a proposal ID never holds: a line with one is a
// CSV row or a quoted value, not an ID.
const notInIDs = `,;"'`

// HeaderError is an IDs file whose first line looks like a CSV header: its
// IDs are in one of its columns, not one per line.
type HeaderError struct{ Line string }

func (e *HeaderError) Error() string {
	return fmt.Sprintf("the first line of the IDs file, %q, looks like a CSV header, not a proposal ID", e.Line)
}

// headerNames are first lines that name a column rather than hold an ID.
var headerNames = map[string]bool{"id": true, "proposal_id": true, "proposalid": true, "proposal id": true, "proposal": true, "proposal-id": true}

// looksLikeHeader says whether the first ID line of a file is a CSV header:
// several fields, or the name of an ID column.
func looksLikeHeader(line string) bool {
	return strings.Contains(line, ",") || headerNames[strings.ToLower(strings.Trim(line, `"' `))]
}

// ValidateID checks a trimmed, non-empty proposal ID against the contract:
// at most 256 bytes of valid UTF-8 with no whitespace, control character,
// comma, semicolon or quote.
func ValidateID(id string) error {
	if len(id) > MaxIDBytes {
		return &InvalidIDError{Reason: fmt.Sprintf("longer than %d bytes (%d)", MaxIDBytes, len(id))}
	}
	if !utf8.ValidString(id) {
		return &InvalidIDError{Reason: "not valid UTF-8"}
	}
	for _, r := range id {
		switch {
		case unicode.IsSpace(r):
			return &InvalidIDError{Reason: fmt.Sprintf("contains whitespace %U", r)}
		case unicode.IsControl(r):
			return &InvalidIDError{Reason: fmt.Sprintf("contains control character %U", r)}
		case strings.ContainsRune(notInIDs, r):
			return &InvalidIDError{Reason: fmt.Sprintf("contains %q, which a proposal ID never holds (a CSV row?)", r)}
		}
	}
	return nil
}

// Kind says what a run does with an Input. A new kind of input is a new
// Kind, handled where the run takes its inputs (exporter's intake).
type Kind uint8

const (
	// Fetch: ID is a proposal whose interview is to be fetched. Proposal may
	// carry what the source learned of it in passing.
	Fetch Kind = iota
	// Invalid: ID was refused (Err says why); it is recorded as a failure
	// and never sent to the API.
	Invalid
	// Facts: Proposal holds facts about proposal ID (a status change) to
	// record; nothing is fetched.
	Facts
	// JobListed: Job holds what GET /jobs/mine says of a job.
	JobListed
	// Progress: the change feed reached Seq (a page's end, an event of
	// another type); nothing else is to be done.
	Progress
)

// Input is one thing a source yields: an ID to fetch, an ID refused, or
// facts and feed progress learned on the way.
type Input struct {
	Kind Kind
	// ID is the trimmed ID. For Invalid it is the text made storable
	// (invalid bytes replaced by U+FFFD, NUL removed), cut to 1 KiB.
	ID string
	// Where locates the ID in its source for a failure's message, e.g.
	// "line 7" or "row 12"; empty when there is nothing useful to say.
	Where string
	// Err is the *InvalidIDError of an Invalid input.
	Err error
	// Proposal holds facts about proposal ID (its job, status, times).
	Proposal *ProposalFacts
	// Job is the job of a JobListed input.
	Job *JobFacts
	// Seq is the position in the change feed (the event's id) of an input
	// from GET /updates; 0 elsewhere. The feed's cursor never moves past an
	// input whose outcome is not committed.
	Seq int64
	// Event is the feed event's type, for counting; "" outside the feed.
	Event string
}

// refused is the Invalid input of id, found at where.
// NewInput is the input of a trimmed ID read at where (a source outside
// this package's, such as package idquery): a Proposal, or Invalid with the
// reason when ValidateID refuses it.
func NewInput(id, where string) Input {
	if err := ValidateID(id); err != nil {
		return refused(id, where, err)
	}
	return Input{ID: id, Where: where}
}

func refused(id, where string, err error) Input {
	return Input{Kind: Invalid, ID: refusedID(id), Where: where, Err: err}
}

// ProposalFacts are what the API said of a proposal in passing.
type ProposalFacts struct {
	JobID string
	// Status is the API's raw status (UNREVIEWED, SHORTLISTED, HIRED, …).
	Status     string
	ReceivedAt time.Time
	// StatusAt is when Status was set (the event's time), zero if unknown.
	StatusAt time.Time
	// StatusSeq orders status changes: the feed event's id; 0 for a
	// listing, which tells the status as it is now.
	StatusSeq int64
	// ListedScore is the listing's metrics.interviewScore as a decimal
	// literal ("" when none): beside the transcript's score, it can tell
	// the score's scale.
	ListedScore string
}

// JobFacts are what GET /jobs/mine says of a job.
type JobFacts struct {
	ID, Title, Status    string
	CreatedAt, UpdatedAt time.Time
	ProposalsTotal       *int32
}

// IDScanner streams proposal IDs, one per line, from a reader: surrounding
// whitespace (\r included) is trimmed, a UTF-8 byte-order mark at the start
// is dropped, blank lines and lines starting with # are skipped, and invalid IDs come back with Err set.
// A first ID line that looks like a CSV header ends the scan with a
// *HeaderError: nothing of such a file is an ID. Lines of any length
// are read in bounded memory. Duplicates are not removed here: that is the
// run's job, across all its sources.
type IDScanner struct {
	r       *bufio.Reader
	started bool // the byte-order mark, if any, is behind
	first   bool // an ID line was read: the header check is behind
	line    int64
	err     error
	buf     []byte
}

// NewIDScanner returns a scanner reading r.
func NewIDScanner(r io.Reader) *IDScanner {
	return &IDScanner{r: bufio.NewReaderSize(r, 64<<10)}
}

// Next returns the next ID, or false at the end of input or on a read error
// (see Err).
func (s *IDScanner) Next() (Input, bool) {
	if !s.started {
		s.started = true
		// Spreadsheet tools start a UTF-8 file with a byte-order mark: it is
		// not part of the first ID.
		if bom, err := s.r.Peek(3); err == nil && string(bom) == "\uFEFF" {
			s.r.Discard(3)
		}
	}
	for s.err == nil {
		kept, content, err := s.readLine()
		if err != nil {
			s.err = err
			if err != io.EOF {
				s.err = fmt.Errorf("read IDs (line %d): %w", s.line+1, err)
			}
			return Input{}, false
		}
		s.line++
		trimmed := bytes.TrimSpace(kept)
		tooLong := content > len(kept)
		if (len(trimmed) == 0 && !tooLong) || (len(trimmed) > 0 && trimmed[0] == '#') {
			continue
		}
		if tooLong {
			in := refused(string(trimmed), fmt.Sprintf("line %d", s.line),
				&InvalidIDError{Reason: fmt.Sprintf("longer than %d bytes (%d)", MaxIDBytes, content)})
			in.ID += "…"
			return in, true
		}
		id := string(trimmed)
		if !s.first {
			s.first = true
			if looksLikeHeader(id) {
				s.err = &HeaderError{Line: refusedID(id)}
				return Input{}, false
			}
		}
		if err := ValidateID(id); err != nil {
			return refused(id, fmt.Sprintf("line %d", s.line), err), true
		}
		return Input{ID: id}, true
	}
	return Input{}, false
}

// Err returns the read error that ended the scan, nil at a clean end.
func (s *IDScanner) Err() error {
	if errors.Is(s.err, io.EOF) {
		return nil
	}
	return s.err
}

// readLine reads one line in bounded memory. It returns the line from its
// first non-blank byte, keeping at most maxKeptInvalid bytes, and the length
// of its content from the first to the last non-blank byte (ASCII blanks;
// the caller trims Unicode ones). It returns io.EOF only when no byte was left.
func (s *IDScanner) readLine() (kept []byte, content int, err error) {
	s.buf = s.buf[:0]
	started, n, read := false, 0, 0
	for {
		chunk, err := s.r.ReadSlice('\n')
		read += len(chunk)
		for _, c := range chunk {
			blank := isBlank(c)
			if blank && !started {
				continue
			}
			started = true
			n++
			if !blank {
				content = n
			}
			if len(s.buf) < maxKeptInvalid {
				s.buf = append(s.buf, c)
			}
		}
		switch {
		case err == bufio.ErrBufferFull:
			continue
		case err == io.EOF && read > 0:
			return s.buf, content, nil // a last line without a newline
		case err != nil:
			return nil, 0, err
		}
		return s.buf, content, nil
	}
}

func isBlank(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\r', '\v', '\f':
		return true
	}
	return false
}
