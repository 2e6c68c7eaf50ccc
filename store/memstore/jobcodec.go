package memstore

import (
	"encoding/binary"
	"errors"
	"math"
	"time"
	"unique"

	"github.com/sundialhq/sundial"
	"github.com/sundialhq/sundial/trigger"
)

// A stored job is kept compact, because a store may hold millions of jobs
// that are idle for hours: a sundial.Job is about 700 bytes of Go values
// (its trigger spec alone ~330), most of them zero, and the garbage
// collector walks every pointer in it on every cycle. jobEntry keeps as
// fields what the store reads on every claim (ID, task, paused, next
// fire, timestamps); the rest of the definition — queue, version, name,
// args, trigger spec, tags, options, source, pause reason — is one string
// (def) in a small tagged encoding: a tag byte per field that is set,
// then its value. A job is materialised (jobEntry.job) when a caller or a
// claim's plan needs it; its strings are substrings of def, so that costs
// no allocation unless the job has args, tags or pointer fields.
//
// The encoding is private to this process: nothing is persisted, so tags
// can change freely. Every field of sundial.Job must be covered:
// TestJobCodecCoversEveryField fills every field by reflection and checks
// the round trip, so a field added to Job, trigger.Spec or JobOptions and
// forgotten here fails it.

// Times are kept to the nanosecond, as seconds and nanoseconds; CreatedAt
// and UpdatedAt come back in UTC (as from the durable stores), NextRunAt in
// its own zone (the trigger's, which a run's ScheduledAt inherits).
func split(t time.Time) (int64, int32) { return t.Unix(), int32(t.Nanosecond()) }

func joined(sec int64, nsec int32) time.Time { return time.Unix(sec, int64(nsec)).UTC() }

// zeroSec is the seconds of the zero time.Time, which joined turns back
// into the zero time.
var zeroSec, _ = split(time.Time{})

// jobEntry is a stored job: see above.
//
// Its fields fit Go's 96-byte size class: the ID is the head of def (a
// string header and an object for the collector less than a field of its
// own), and the queue and the version, which a claim reads only when the
// claimer serves named queues and which change only with the definition,
// are the first fields encoded after it (queue, version).
type jobEntry struct {
	task unique.Handle[string] // few distinct task names: one copy each
	def  string                // the ID (idLen bytes), then the rest of the definition, encoded
	hist *history              // the job's runs; nil when it has none (Store.orphans)

	nextLoc                            *time.Location // NextRunAt's zone (Store.zone); nil for UTC
	nextSec, createdSec, updatedSec    int64
	nextNsec, createdNsec, updatedNsec int32
	index                              int32 // position in its due heap, or -1
	idLen                              uint32
	paused                             bool
	worker                             bool // the heap is workerDue
}

// id returns the job's ID.
func (e *jobEntry) id() string { return e.def[:e.idLen] }

// encoded returns the definition's fields encoded after the ID.
func (e *jobEntry) encoded() string { return e.def[e.idLen:] }

// setDef stores the job's ID and encodes the rest of its definition in
// def, through w, whose buffer is kept for the next call.
func (e *jobEntry) setDef(job *sundial.Job, w *encoder) {
	w.b = append(w.b[:0], job.ID...)
	e.def = encodeDef(job, w)
	e.idLen = uint32(len(job.ID))
}

// newJobEntry stores job; its hot fields are copied, the rest encoded
// through w. zone interns NextRunAt's
// location (nil: keep it as it is). task is a handle to reuse if it is
// the job's task (jobs added in bulk mostly share one), or zero.
func newJobEntry(job *sundial.Job, w *encoder, zone func(*time.Location) *time.Location, task unique.Handle[string]) *jobEntry {
	e := &jobEntry{index: -1, task: task}
	e.set(job, w, zone)
	return e
}

// set replaces everything stored of the job but its heap position (its
// ID is the entry's own: only newJobEntry gives it a new one).
func (e *jobEntry) set(job *sundial.Job, w *encoder, zone func(*time.Location) *time.Location) {
	if e.task == (unique.Handle[string]{}) || e.task.Value() != job.Task {
		e.task = unique.Make(job.Task) // a look-up in a concurrent map
	}
	e.setDef(job, w)
	e.setNext(job.NextRunAt, zone)
	e.createdSec, e.createdNsec = split(job.CreatedAt)
	e.updatedSec, e.updatedNsec = split(job.UpdatedAt)
	e.paused = job.Paused
}

// job materialises the stored job. It shares no memory that a caller could
// change with the store: strings are immutable, slices are new.
func (e *jobEntry) job() sundial.Job {
	j := sundial.Job{ID: e.id(), Task: e.task.Value(), Paused: e.paused, NextRunAt: e.nextRunAt(),
		CreatedAt: joined(e.createdSec, e.createdNsec), UpdatedAt: joined(e.updatedSec, e.updatedNsec)}
	d := decoder{s: e.encoded()}
	d.job(&j)
	return j
}

// queue returns the job's queue, without decoding the rest.
func (e *jobEntry) queue() string {
	d := decoder{s: e.encoded()}
	if d.more() && d.s[0] == tQueue {
		d.byte()
		return d.str()
	}
	return ""
}

// version returns the job's version, without decoding the rest.
func (e *jobEntry) version() int64 {
	d := decoder{s: e.encoded()}
	if d.more() && d.s[0] == tQueue {
		d.byte()
		d.str()
	}
	if d.more() && d.s[0] == tVersion {
		d.byte()
		return d.varint()
	}
	return 0
}

func (e *jobEntry) nextRunAt() time.Time {
	t := joined(e.nextSec, e.nextNsec)
	if e.nextLoc != nil {
		t = t.In(e.nextLoc)
	}
	return t
}

// setNext sets NextRunAt.
func (e *jobEntry) setNext(t time.Time, zone func(*time.Location) *time.Location) {
	e.nextSec, e.nextNsec = split(t)
	e.nextLoc = nil
	if loc := t.Location(); loc != time.UTC && !t.IsZero() {
		e.nextLoc = loc
		if zone != nil {
			e.nextLoc = zone(loc)
		}
	}
}

// hasNext reports whether NextRunAt is set.
func (e *jobEntry) hasNext() bool { return e.nextSec != zeroSec || e.nextNsec != 0 }

// dueBy reports whether the job's next fire is at or before t.
func (e *jobEntry) dueBy(sec int64, nsec int32) bool {
	return e.nextSec < sec || e.nextSec == sec && e.nextNsec <= nsec
}

// Tags of the encoding. Each struct has its own set; the order is free.
const (
	// sundial.Job; tQueue and tVersion come first (jobEntry.queue, version)
	tQueue byte = iota + 1
	tVersion
	tName
	tArgs
	tTrigger
	tTags
	tOptions
	tSource
	tPauseReason
)

const (
	// trigger.Spec
	tTypeCode byte = iota + 1 // one of specTypes, as its index
	tType                     // any other type, as a string
	tExpr
	tDialect
	tFields
	tWeeks
	tDays
	tHours
	tMinutes
	tSeconds
	tYears
	tMonths
	tHour
	tMinute
	tSecond
	tMissingDay
	tRunDate
	tTriggers
	tTimezone
	tStartDate
	tEndDate
	tJitter
	tJitterSeed
	tSpringForward
	tFallBack
	tCalendar
)

// specTypes are the trigger types written as one byte.
var specTypes = [...]string{"cron", "interval", "date", "calendar", "and", "or", "none"}

const (
	// trigger.CronFields
	tYear byte = iota + 1
	tMonth
	tDay
	tWeek
	tDayOfWeek
	tFieldHour
	tFieldMinute
	tFieldSecond
)

const (
	// trigger.DayCalendar
	tCalName byte = iota + 1
	tRule
	tHolidays
	tWorkingDays
	tCalVersion
)

const (
	// sundial.JobOptions
	tRunOnStart byte = iota + 1
	tMisfireGrace
	tCoalesce
	tMaxInstances
	tOverlap
	tTimeout
	tMaxAttempts
	tRetryBackoff
	tMaxRetryBackoff
	tFixedDelay
	tNotify
	tThen
	tBroadcast
)

const (
	// sundial.Notification
	tOn byte = iota + 1
	tWebhook
	tFormat
	tEmail
	tSecret
)

const (
	// sundial.Chain
	tChainJob byte = iota + 1
	tChainOn
)

// encodeDef appends to w the fields of job that jobEntry does not keep,
// and returns all w holds as a string. The caller gives the encoder, and
// keeps it: one made here escaped to the heap (the nested encodings take
// it through closures), an allocation per job stored.
func encodeDef(job *sundial.Job, w *encoder) string {
	w.str(tQueue, job.Queue)
	w.int(tVersion, job.Version)
	w.str(tName, job.Name)
	if job.Args != nil {
		w.bytes(tArgs, job.Args)
	}
	w.nested(tTrigger, func(w *encoder) { w.spec(&job.Trigger) })
	if job.Tags != nil {
		w.strs(tTags, job.Tags)
	}
	w.nested(tOptions, func(w *encoder) { w.options(&job.Options) })
	w.str(tSource, job.Source)
	w.str(tPauseReason, job.PauseReason)
	return string(w.b)
}

// encoder appends fields; zero values are left out.
type encoder struct{ b []byte }

func (w *encoder) tag(t byte) { w.b = append(w.b, t) }

func (w *encoder) str(t byte, s string) {
	if s != "" {
		w.tag(t)
		w.b = binary.AppendUvarint(w.b, uint64(len(s)))
		w.b = append(w.b, s...)
	}
}

// bytes writes b even when empty: the caller writes a non-nil slice.
func (w *encoder) bytes(t byte, b []byte) {
	w.tag(t)
	w.b = binary.AppendUvarint(w.b, uint64(len(b)))
	w.b = append(w.b, b...)
}

func (w *encoder) int(t byte, v int64) {
	if v != 0 {
		w.tag(t)
		w.b = binary.AppendVarint(w.b, v)
	}
}

func (w *encoder) uint(t byte, v uint64) {
	if v != 0 {
		w.tag(t)
		w.b = binary.AppendUvarint(w.b, v)
	}
}

func (w *encoder) float(t byte, v float64) {
	if bits := math.Float64bits(v); bits != 0 {
		w.tag(t)
		w.b = binary.LittleEndian.AppendUint64(w.b, bits)
	}
}

func (w *encoder) flag(t byte, v bool) {
	if v {
		w.tag(t)
	}
}

// strs writes a non-nil list of strings, even an empty one.
func (w *encoder) strs(t byte, list []string) {
	w.tag(t)
	w.b = binary.AppendUvarint(w.b, uint64(len(list)))
	for _, s := range list {
		w.b = binary.AppendUvarint(w.b, uint64(len(s)))
		w.b = append(w.b, s...)
	}
}

// open starts a nested encoding (a struct, as a length and its own
// fields) after its tag; close writes its length.
func (w *encoder) open() int {
	w.b = append(w.b, 0) // the length, when under 128 bytes; close makes room otherwise
	return len(w.b)
}

func (w *encoder) close(start int) {
	n := len(w.b) - start
	if n < 0x80 {
		w.b[start-1] = byte(n)
		return
	}
	var prefix [binary.MaxVarintLen64]byte
	k := binary.PutUvarint(prefix[:], uint64(n))
	w.b = append(w.b, prefix[:k-1]...)
	copy(w.b[start-1+k:], w.b[start:start+n])
	copy(w.b[start-1:], prefix[:k])
}

// nested writes a struct after tag t, left out when it has no field set.
func (w *encoder) nested(t byte, fn func(*encoder)) {
	w.tag(t)
	start := w.open()
	fn(w)
	if len(w.b) == start {
		w.b = w.b[:start-2]
		return
	}
	w.close(start)
}

// always writes a struct after tag t even when it has no field set (a
// pointer that is not nil).
func (w *encoder) always(t byte, fn func(*encoder)) {
	w.tag(t)
	start := w.open()
	fn(w)
	w.close(start)
}

// list writes n structs after tag t, each as a nested encoding.
func (w *encoder) list(t byte, n int, fn func(w *encoder, i int)) {
	w.tag(t)
	w.b = binary.AppendUvarint(w.b, uint64(n))
	for i := range n {
		start := w.open()
		fn(w, i)
		w.close(start)
	}
}

func (w *encoder) spec(s *trigger.Spec) {
	code := -1
	for i, name := range specTypes {
		if s.Type == name {
			code = i
		}
	}
	if code >= 0 {
		w.tag(tTypeCode)
		w.b = append(w.b, byte(code))
	} else {
		w.str(tType, s.Type)
	}
	w.str(tExpr, s.Expr)
	w.str(tDialect, string(s.Dialect))
	if s.Fields != nil {
		w.always(tFields, func(w *encoder) { w.cronFields(s.Fields) })
	}
	w.int(tWeeks, int64(s.Weeks))
	w.int(tDays, int64(s.Days))
	w.int(tHours, int64(s.Hours))
	w.int(tMinutes, int64(s.Minutes))
	w.float(tSeconds, s.Seconds)
	w.int(tYears, int64(s.Years))
	w.int(tMonths, int64(s.Months))
	w.int(tHour, int64(s.Hour))
	w.int(tMinute, int64(s.Minute))
	w.int(tSecond, int64(s.Second))
	w.str(tMissingDay, string(s.MissingDay))
	w.str(tRunDate, s.RunDate)
	if s.Triggers != nil {
		w.list(tTriggers, len(s.Triggers), func(w *encoder, i int) { w.spec(&s.Triggers[i]) })
	}
	w.str(tTimezone, s.Timezone)
	w.str(tStartDate, s.StartDate)
	w.str(tEndDate, s.EndDate)
	w.int(tJitter, int64(s.Jitter))
	w.uint(tJitterSeed, s.JitterSeed)
	w.str(tSpringForward, string(s.SpringForward))
	w.str(tFallBack, string(s.FallBack))
	if c := s.Calendar; c != nil {
		w.always(tCalendar, func(w *encoder) {
			w.str(tCalName, c.Name)
			w.str(tRule, string(c.Rule))
			if c.Holidays != nil {
				w.strs(tHolidays, c.Holidays)
			}
			if c.WorkingDays != nil {
				w.strs(tWorkingDays, c.WorkingDays)
			}
			w.int(tCalVersion, c.Version)
		})
	}
}

func (w *encoder) cronFields(f *trigger.CronFields) {
	w.str(tYear, string(f.Year))
	w.str(tMonth, string(f.Month))
	w.str(tDay, string(f.Day))
	w.str(tWeek, string(f.Week))
	w.str(tDayOfWeek, string(f.DayOfWeek))
	w.str(tFieldHour, string(f.Hour))
	w.str(tFieldMinute, string(f.Minute))
	w.str(tFieldSecond, string(f.Second))
}

func (w *encoder) options(o *sundial.JobOptions) {
	w.flag(tRunOnStart, o.RunOnStart)
	w.int(tMisfireGrace, int64(o.MisfireGrace))
	if o.Coalesce != nil {
		w.tag(tCoalesce)
		w.b = append(w.b, boolByte(*o.Coalesce))
	}
	w.int(tMaxInstances, int64(o.MaxInstances))
	w.str(tOverlap, string(o.Overlap))
	w.int(tTimeout, int64(o.Timeout))
	w.int(tMaxAttempts, int64(o.MaxAttempts))
	w.int(tRetryBackoff, int64(o.RetryBackoff))
	w.int(tMaxRetryBackoff, int64(o.MaxRetryBackoff))
	w.flag(tFixedDelay, o.FixedDelay)
	if o.Notify != nil {
		w.list(tNotify, len(o.Notify), func(w *encoder, i int) {
			n := &o.Notify[i]
			if n.On != nil {
				w.tag(tOn)
				w.b = binary.AppendUvarint(w.b, uint64(len(n.On)))
				for _, st := range n.On {
					w.b = binary.AppendUvarint(w.b, uint64(len(st)))
					w.b = append(w.b, st...)
				}
			}
			w.str(tWebhook, n.Webhook)
			w.str(tFormat, n.Format)
			if n.Email != nil {
				w.strs(tEmail, n.Email)
			}
			w.str(tSecret, n.Secret)
		})
	}
	if o.Then != nil {
		w.list(tThen, len(o.Then), func(w *encoder, i int) {
			w.str(tChainJob, o.Then[i].Job)
			w.str(tChainOn, string(o.Then[i].On))
		})
	}
	w.flag(tBroadcast, o.Broadcast)
}

func boolByte(v bool) byte {
	if v {
		return 1
	}
	return 0
}

// errCorrupt would mean a bug in this file: the store only decodes what it
// encoded itself.
var errCorrupt = errors.New("memstore: corrupt job encoding")

// decoder reads an encoding; its strings are substrings of s.
type decoder struct{ s string }

func (d *decoder) more() bool { return len(d.s) > 0 }

func (d *decoder) byte() byte {
	if len(d.s) == 0 {
		panic(errCorrupt)
	}
	b := d.s[0]
	d.s = d.s[1:]
	return b
}

func (d *decoder) uvarint() uint64 {
	var v uint64
	for shift := uint(0); ; shift += 7 {
		b := d.byte()
		v |= uint64(b&0x7f) << shift
		if b < 0x80 {
			return v
		}
	}
}

func (d *decoder) varint() int64 {
	u := d.uvarint()
	v := int64(u >> 1)
	if u&1 != 0 {
		v = ^v
	}
	return v
}

func (d *decoder) str() string {
	n := d.uvarint()
	if n > uint64(len(d.s)) {
		panic(errCorrupt)
	}
	s := d.s[:n]
	d.s = d.s[n:]
	return s
}

// sub returns a decoder of a nested encoding.
func (d *decoder) sub() decoder { return decoder{s: d.str()} }

func (d *decoder) float() float64 {
	if len(d.s) < 8 {
		panic(errCorrupt)
	}
	v := math.Float64frombits(binary.LittleEndian.Uint64([]byte(d.s[:8])))
	d.s = d.s[8:]
	return v
}

func (d *decoder) strs() []string {
	list := make([]string, d.uvarint())
	for i := range list {
		list[i] = d.str()
	}
	return list
}

func (d *decoder) job(j *sundial.Job) {
	for d.more() {
		switch t := d.byte(); t {
		case tQueue:
			j.Queue = d.str()
		case tVersion:
			j.Version = d.varint()
		case tName:
			j.Name = d.str()
		case tArgs:
			j.Args = []byte(d.str())
		case tTrigger:
			sub := d.sub()
			sub.spec(&j.Trigger)
		case tTags:
			j.Tags = d.strs()
		case tOptions:
			sub := d.sub()
			sub.options(&j.Options)
		case tSource:
			j.Source = d.str()
		case tPauseReason:
			j.PauseReason = d.str()
		default:
			panic(errCorrupt)
		}
	}
}

func (d *decoder) spec(s *trigger.Spec) {
	for d.more() {
		switch t := d.byte(); t {
		case tTypeCode:
			s.Type = specTypes[d.byte()]
		case tType:
			s.Type = d.str()
		case tExpr:
			s.Expr = d.str()
		case tDialect:
			s.Dialect = trigger.Dialect(d.str())
		case tFields:
			sub := d.sub()
			s.Fields = &trigger.CronFields{}
			sub.cronFields(s.Fields)
		case tWeeks:
			s.Weeks = int(d.varint())
		case tDays:
			s.Days = int(d.varint())
		case tHours:
			s.Hours = int(d.varint())
		case tMinutes:
			s.Minutes = int(d.varint())
		case tSeconds:
			s.Seconds = d.float()
		case tYears:
			s.Years = int(d.varint())
		case tMonths:
			s.Months = int(d.varint())
		case tHour:
			s.Hour = int(d.varint())
		case tMinute:
			s.Minute = int(d.varint())
		case tSecond:
			s.Second = int(d.varint())
		case tMissingDay:
			s.MissingDay = trigger.MissingDay(d.str())
		case tRunDate:
			s.RunDate = d.str()
		case tTriggers:
			s.Triggers = make([]trigger.Spec, d.uvarint())
			for i := range s.Triggers {
				sub := d.sub()
				sub.spec(&s.Triggers[i])
			}
		case tTimezone:
			s.Timezone = d.str()
		case tStartDate:
			s.StartDate = d.str()
		case tEndDate:
			s.EndDate = d.str()
		case tJitter:
			s.Jitter = trigger.Duration(d.varint())
		case tJitterSeed:
			s.JitterSeed = d.uvarint()
		case tSpringForward:
			s.SpringForward = trigger.SpringForward(d.str())
		case tFallBack:
			s.FallBack = trigger.FallBack(d.str())
		case tCalendar:
			sub := d.sub()
			s.Calendar = &trigger.DayCalendar{}
			sub.calendar(s.Calendar)
		default:
			panic(errCorrupt)
		}
	}
}

func (d *decoder) cronFields(f *trigger.CronFields) {
	for d.more() {
		v := func() trigger.FieldExpr { return trigger.FieldExpr(d.str()) }
		switch t := d.byte(); t {
		case tYear:
			f.Year = v()
		case tMonth:
			f.Month = v()
		case tDay:
			f.Day = v()
		case tWeek:
			f.Week = v()
		case tDayOfWeek:
			f.DayOfWeek = v()
		case tFieldHour:
			f.Hour = v()
		case tFieldMinute:
			f.Minute = v()
		case tFieldSecond:
			f.Second = v()
		default:
			panic(errCorrupt)
		}
	}
}

func (d *decoder) calendar(c *trigger.DayCalendar) {
	for d.more() {
		switch t := d.byte(); t {
		case tCalName:
			c.Name = d.str()
		case tRule:
			c.Rule = trigger.DayRule(d.str())
		case tHolidays:
			c.Holidays = d.strs()
		case tWorkingDays:
			c.WorkingDays = d.strs()
		case tCalVersion:
			c.Version = d.varint()
		default:
			panic(errCorrupt)
		}
	}
}

func (d *decoder) options(o *sundial.JobOptions) {
	for d.more() {
		switch t := d.byte(); t {
		case tRunOnStart:
			o.RunOnStart = true
		case tMisfireGrace:
			o.MisfireGrace = time.Duration(d.varint())
		case tCoalesce:
			v := d.byte() == 1
			o.Coalesce = &v
		case tMaxInstances:
			o.MaxInstances = int(d.varint())
		case tOverlap:
			o.Overlap = sundial.Overlap(d.str())
		case tTimeout:
			o.Timeout = time.Duration(d.varint())
		case tMaxAttempts:
			o.MaxAttempts = int(d.varint())
		case tRetryBackoff:
			o.RetryBackoff = time.Duration(d.varint())
		case tMaxRetryBackoff:
			o.MaxRetryBackoff = time.Duration(d.varint())
		case tFixedDelay:
			o.FixedDelay = true
		case tNotify:
			o.Notify = make([]sundial.Notification, d.uvarint())
			for i := range o.Notify {
				sub := d.sub()
				sub.notification(&o.Notify[i])
			}
		case tThen:
			o.Then = make([]sundial.Chain, d.uvarint())
			for i := range o.Then {
				sub := d.sub()
				for sub.more() {
					switch t := sub.byte(); t {
					case tChainJob:
						o.Then[i].Job = sub.str()
					case tChainOn:
						o.Then[i].On = sundial.ChainOn(sub.str())
					default:
						panic(errCorrupt)
					}
				}
			}
		case tBroadcast:
			o.Broadcast = true
		default:
			panic(errCorrupt)
		}
	}
}

func (d *decoder) notification(n *sundial.Notification) {
	for d.more() {
		switch t := d.byte(); t {
		case tOn:
			on := d.strs()
			n.On = make([]sundial.RunStatus, len(on))
			for i, s := range on {
				n.On[i] = sundial.RunStatus(s)
			}
		case tWebhook:
			n.Webhook = d.str()
		case tFormat:
			n.Format = d.str()
		case tEmail:
			n.Email = d.strs()
		case tSecret:
			n.Secret = d.str()
		default:
			panic(errCorrupt)
		}
	}
}
