package fakeapi

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"strings"
	"time"
	"unicode/utf8"
)

// Kind is what the fake answers for a proposal's interview.
type Kind int

// The kinds of answer. An ID's kind comes from its prefix when it has one of
// the prefixes below (e.g. "notfound-42"), otherwise from a stable hash of
// the ID weighed by the Config's shares.
const (
	KindAvailable    Kind = iota // 200 with a transcript
	KindNoInterview              // 404 with the error envelope
	KindForbidden                // 403 with the error envelope
	KindBadRequest               // 400 with the error envelope
	KindInvalid                  // 200 whose body breaks the schema
	KindHTMLNotFound             // 404 HTML page, as from a proxy
	KindAlways500                // 500 on every attempt
	KindEmpty                    // 200 with zero messages
	KindHuge                     // 200 with a very large transcript
)

var prefixes = map[string]Kind{
	"available-":  KindAvailable,
	"notfound-":   KindNoInterview,
	"forbidden-":  KindForbidden,
	"badrequest-": KindBadRequest,
	"invalid-":    KindInvalid,
	"html404-":    KindHTMLNotFound,
	"always500-":  KindAlways500,
	"empty-":      KindEmpty,
	"huge-":       KindHuge,
}

// KindOf returns the kind of answer the fake gives for proposalID.
func (s *Server) KindOf(proposalID string) Kind {
	for p, k := range prefixes {
		if strings.HasPrefix(proposalID, p) {
			return k
		}
	}
	u := s.unit(proposalID, "kind", 0)
	c := s.cfg
	switch {
	case u < c.NoInterviewShare:
		return KindNoInterview
	case u < c.NoInterviewShare+c.ForbiddenShare:
		return KindForbidden
	case u < c.NoInterviewShare+c.ForbiddenShare+c.InvalidShare:
		return KindInvalid
	}
	return KindAvailable
}

// Transcript is an interview as the fake serves it, with each text field as
// it should be stored (NUL removed, invalid UTF-8 and lone surrogates as
// U+FFFD), so tests can compare a database with it.
type Transcript struct {
	ProposalID  string
	InterviewID string
	// Score is the JSON literal sent, "" for null; ScoreScale is the scale
	// it is on (10 or 100; 0 for null): the fake sends most on 0–100, as the
	// reference pages do, and some on the 0–10 of the evaluation guide.
	Score      string
	ScoreScale int
	Summary    *string
	Messages   []Message
	// Extra are members the documented schema does not name, as JSON
	// object members ("" for none; see Config.ExtraMembers).
	Extra string
}

// Message is one message of a Transcript; Content and Role hold the stored
// form, SentAt the instant.
type Message struct {
	ID, Role, Content string
	SentAt            time.Time
	// wire is the message's JSON object as sent (with NULs, raw invalid bytes,
	// lone surrogates and odd offsets).
	wire string
}

// hash64 is a stable hash of the seed and parts.
func (s *Server) hash64(parts ...string) uint64 {
	h := fnv.New64a()
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], s.cfg.Seed)
	h.Write(b[:])
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return h.Sum64()
}

// unit maps (id, what, n) to a stable number in [0, 1).
func (s *Server) unit(id, what string, n int) float64 {
	return float64(s.hash64(id, what, fmt.Sprint(n))>>11) / (1 << 53)
}

var (
	words = strings.Fields(`the a label labels sentiment edge case annotator guideline review quality
		consistency ambiguous sarcasm negation Spanish English dataset rubric example explain why because
		I we would first then check compare escalate disagree agree confidence score tricky context`)
	unicodeBits = []string{"é", "ñ", "ü", "世界", "日本語", "🎉", "👍🏽", "עברית", "مرحبا", "Ωμέγα", "ß", "\u200b", "e\u0301"}
	offsets     = []string{"Z", "Z", "Z", "+00:00", "+05:30", "-08:00", "+14:00", "-11:30", "+01:00"}
	roles       = []string{"interviewer", "candidate"}
)

// Transcript returns the transcript the fake serves for proposalID at the
// server's current epoch. Epochs after 0 change some transcripts: edited,
// shrunk or grown (see SetEpoch).
func (s *Server) Transcript(proposalID string) Transcript {
	r := rand.New(rand.NewPCG(s.hash64(proposalID, "transcript"), 1))
	t := Transcript{ProposalID: proposalID, InterviewID: fmt.Sprintf("iv_%016x", s.hash64(proposalID, "iv"))}
	switch x := r.IntN(20); {
	case x == 0:
		t.Score = "" // null
	case x == 1:
		t.Score, t.ScoreScale = fmt.Sprintf("%d.%d", r.IntN(100), 1+r.IntN(9)), 100
	case x == 2:
		t.Score, t.ScoreScale = fmt.Sprintf("%d.%d", r.IntN(10), r.IntN(10)), 10 // the guide's 0-10 scale
	default:
		t.Score, t.ScoreScale = fmt.Sprint(r.IntN(101)), 100
	}
	switch x := r.IntN(20); {
	case x == 0:
	case x == 1:
		t.Summary = new("")
	default:
		t.Summary = new(sentence(r, 10+r.IntN(30)))
	}
	n := 2 + r.IntN(2*s.cfg.MeanMessages-3)
	kind := s.KindOf(proposalID)
	switch kind {
	case KindEmpty:
		n = 0
	case KindHuge:
		n = 400
	}
	if kind == KindAvailable && r.IntN(50) == 0 {
		n = 1 // the sanitizer's "Interview completed." transcript
	}
	start := time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC).Add(time.Duration(r.IntN(150*24*3600)) * time.Second)
	for i := range n {
		var m Message
		m.ID = fmt.Sprintf("msg_%s_%03d", shortHash(s.hash64(proposalID)), i)
		m.Role = roles[i%2]
		if r.IntN(40) == 0 {
			m.Role = "system"
		}
		size := 40 + r.IntN(600)
		if kind == KindHuge {
			size = 4000
			if s.cfg.HugeBytes > 0 {
				size = s.cfg.HugeBytes / 470 // words and JSON add about a sixth
			}
		}
		content := sentence(r, size/6)
		if n == 1 && kind == KindAvailable {
			content = "Interview completed."
		}
		wireContent, stored := decorate(r, content)
		if r.IntN(60) == 0 {
			wireContent, stored = `""`, "" // empty content
		}
		sent := start.Add(time.Duration(i*45+r.IntN(40)) * time.Second).Add(time.Duration(r.IntN(1000)) * time.Millisecond)
		wireTime, sent := formatTime(r, sent)
		m.Content, m.SentAt = stored, sent
		m.wire = fmt.Sprintf(`{"id":%s,"role":%s,"content":%s,"sentAt":%q}`,
			jsonString(m.ID), jsonString(m.Role), wireContent, wireTime)
		t.Messages = append(t.Messages, m)
	}
	if s.cfg.ExtraMembers {
		t.Extra = fmt.Sprintf(`"language":"en","durationSeconds":%d`, 60+r.IntN(1800))
	}
	s.applyEpoch(&t)
	return t
}

// applyEpoch changes the transcript as later upstream states would.
func (s *Server) applyEpoch(t *Transcript) {
	epoch := s.epoch.Load()
	for e := int64(1); e <= epoch; e++ {
		u := s.unit(t.ProposalID, "epoch", int(e))
		switch {
		case u < 0.10 && len(t.Messages) > 0: // an edited message
			m := &t.Messages[len(t.Messages)/2]
			m.Content += fmt.Sprintf(" (edited in epoch %d)", e)
			m.wire = fmt.Sprintf(`{"id":%s,"role":%s,"content":%s,"sentAt":%q}`,
				jsonString(m.ID), jsonString(m.Role), jsonString(m.Content), m.SentAt.Format(time.RFC3339Nano))
		case u < 0.20 && len(t.Messages) > 1: // shrunk: the last message is gone
			t.Messages = t.Messages[:len(t.Messages)-1]
		case u < 0.30: // grown: a new message at the end
			m := Message{ID: fmt.Sprintf("msg_%s_e%d", shortHash(s.hash64(t.ProposalID)), e), Role: "interviewer",
				Content: fmt.Sprintf("Follow-up question from epoch %d?", e), SentAt: time.Date(2026, 11, 1, 0, 0, int(e), 0, time.UTC)}
			m.wire = fmt.Sprintf(`{"id":%s,"role":"interviewer","content":%s,"sentAt":%q}`,
				jsonString(m.ID), jsonString(m.Content), m.SentAt.Format(time.RFC3339Nano))
			t.Messages = append(t.Messages, m)
		case u < 0.35: // a new score
			t.Score, t.ScoreScale = fmt.Sprint(int(u*1000)%101), 100
		}
	}
}

// ListedScore is what a job's listing says of the proposal's interview
// score (metrics.interviewScore): on 0–100, as the reference pages show it,
// whatever the scale of the transcript's own score; "" when it has none.
func (s *Server) ListedScore(proposalID string) string {
	t := s.Transcript(proposalID)
	switch {
	case t.Score == "" || s.KindOf(proposalID) != KindAvailable:
		return ""
	case t.ScoreScale == 10:
		var whole, tenth int
		fmt.Sscanf(t.Score, "%d.%d", &whole, &tenth)
		return fmt.Sprint(whole*10 + tenth)
	}
	return t.Score
}

// Delete has the proposal's interview deleted from at on (by the fake's
// clock, Config.Now): as when a candidate deletes their account, the API
// answers 404 with its envelope from then on.
func (s *Server) Delete(proposalID string, at time.Time) { s.deleted.Store(proposalID, at) }

// vanished reports whether the proposal's interview has disappeared (404):
// deleted (Delete), or gone at the current epoch.
func (s *Server) vanished(proposalID string) bool {
	if at, ok := s.deleted.Load(proposalID); ok && !s.cfg.Now().Before(at.(time.Time)) {
		return true
	}
	for e := int64(1); e <= s.epoch.Load(); e++ {
		if u := s.unit(proposalID, "vanish", int(e)); u < 0.05 {
			return true
		}
	}
	return false
}

// Expected returns what an export should store for proposalID: the
// transcript and true for an available interview, false for no interview.
// Proposals whose answer is a failure (403, 400, invalid, HTML 404, always
// 500) return false too; see KindOf.
func (s *Server) Expected(proposalID string) (Transcript, bool) {
	switch s.KindOf(proposalID) {
	case KindAvailable, KindEmpty, KindHuge:
		if s.vanished(proposalID) {
			return Transcript{}, false
		}
		return s.Transcript(proposalID), true
	}
	return Transcript{}, false
}

// body renders the transcript as the API's JSON body.
func (t Transcript) body() []byte {
	var b strings.Builder
	b.WriteString(`{"interview":{"proposalId":`)
	b.WriteString(jsonString(t.ProposalID))
	b.WriteString(`,"interviewId":`)
	b.WriteString(jsonString(t.InterviewID))
	b.WriteString(`,"score":`)
	if t.Score == "" {
		b.WriteString("null")
	} else {
		b.WriteString(t.Score)
	}
	b.WriteString(`,"summary":`)
	if t.Summary == nil {
		b.WriteString("null")
	} else {
		b.WriteString(jsonString(*t.Summary))
	}
	if t.Extra != "" {
		b.WriteString("," + t.Extra)
	}
	b.WriteString(`,"messages":[`)
	for i, m := range t.Messages {
		if i > 0 {
			b.WriteByte(',')
		}
		if t.Extra != "" { // each message gets one too
			b.WriteString(strings.TrimSuffix(m.wire, "}") + fmt.Sprintf(`,"tokens":%d}`, len(m.Content)/4))
			continue
		}
		b.WriteString(m.wire)
	}
	b.WriteString(`]}}`)
	return []byte(b.String())
}

// decorate returns content as a JSON string literal for the wire, sometimes
// with unicode, a NUL, a raw invalid byte or a lone surrogate, and the text
// that should be stored.
func decorate(r *rand.Rand, content string) (wire, stored string) {
	if r.IntN(3) == 0 {
		content = content + " " + unicodeBits[r.IntN(len(unicodeBits))]
	}
	switch r.IntN(25) {
	case 0: // NUL inside: sent as \u0000, removed when stored
		return jsonString(content + "\x00tail"), content + "tail"
	case 1: // a lone surrogate escape
		lit := jsonString(content)
		return lit[:len(lit)-1] + `\ud800 end"`, content + "\uFFFD end"
	case 2: // a raw invalid UTF-8 byte
		lit := jsonString(content)
		return lit[:len(lit)-1] + "\xff\"", content + "\uFFFD"
	}
	return jsonString(content), content
}

// formatTime renders t in RFC 3339 with a random offset and precision, and
// returns the instant the text denotes.
func formatTime(r *rand.Rand, t time.Time) (string, time.Time) {
	off := offsets[r.IntN(len(offsets))]
	layout := "2006-01-02T15:04:05.000"
	if r.IntN(8) == 0 {
		layout = "2006-01-02T15:04:05"
		t = t.Truncate(time.Second)
	}
	if off == "Z" {
		return t.UTC().Format(layout) + "Z", t
	}
	loc, _ := time.Parse("-07:00", off)
	_, secs := loc.Zone()
	return t.In(time.FixedZone(off, secs)).Format(layout + "-07:00"), t
}

func sentence(r *rand.Rand, n int) string {
	var b strings.Builder
	for i := range max(n, 1) {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(words[r.IntN(len(words))])
	}
	b.WriteByte('.')
	return b.String()
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	if !utf8.Valid(b) {
		panic("fakeapi: invalid JSON string")
	}
	return string(b)
}

func shortHash(h uint64) string { return fmt.Sprintf("%08x", uint32(h)) }

// Body returns the 200 body the fake serves for proposalID at the current
// epoch.
func (s *Server) Body(proposalID string) []byte {
	if !s.cfg.CacheBodies {
		return s.Transcript(proposalID).body()
	}
	key := fmt.Sprintf("%d/%s", s.epoch.Load(), proposalID)
	if b, ok := s.bodies.Load(key); ok {
		return b.([]byte)
	}
	b := s.Transcript(proposalID).body()
	s.bodies.Store(key, b)
	return b
}

// Warm generates and caches the bodies of ids (with Config.CacheBodies), so
// that a benchmark measures the client rather than the fake.
func (s *Server) Warm(ids []string) {
	for _, id := range ids {
		s.Body(id)
	}
}
