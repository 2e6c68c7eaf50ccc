package sundial_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sundialhq/sundial"
)

func TestRunOutputKeepsLogLinesAndWrites(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := setup(t, sundial.Config{})
		b.register(t, "chatty", func(ctx context.Context, r sundial.Run) (any, error) {
			sundial.Logger(ctx).Info("copied rows", "rows", 42)
			fmt.Fprintln(sundial.Output(ctx), "plain line")
			return nil, nil
		})
		b.register(t, "flood", func(ctx context.Context, r sundial.Run) (any, error) {
			w := sundial.Output(ctx)
			for i := range 10000 {
				fmt.Fprintf(w, "line %05d\n", i)
			}
			return nil, nil
		})
		b.register(t, "quiet", ok)
		b.add(t, sundial.Job{ID: "chatty", Task: "chatty", Trigger: every(time.Hour)})
		b.add(t, sundial.Job{ID: "flood", Task: "flood", Trigger: every(time.Hour)})
		b.add(t, sundial.Job{ID: "quiet", Task: "quiet", Trigger: every(time.Hour)})
		b.start(t)
		time.Sleep(time.Hour + time.Second)
		b.stop(t)

		out := b.runs(t, "chatty")[0].Output
		if !strings.Contains(out, `msg="copied rows" rows=42`) || !strings.HasSuffix(out, "plain line\n") {
			t.Errorf("chatty output = %q", out)
		}
		out = b.runs(t, "flood")[0].Output
		if !strings.HasPrefix(out, "[… ") || !strings.HasSuffix(out, "line 09999\n") || len(out) > sundial.DefaultOutputLimit+100 {
			t.Errorf("flood output: %d bytes, starts %q, ends %q", len(out), out[:40], out[len(out)-20:])
		}
		if out := b.runs(t, "quiet")[0].Output; out != "" {
			t.Errorf("quiet output = %q", out)
		}
	})
}

// TestJobOptionsJSONDurations: durations write as Go duration strings and
// read as strings or as numbers of seconds, the one rule everywhere.
func TestJobOptionsJSONDurations(t *testing.T) {
	o := sundial.JobOptions{MisfireGrace: 90 * time.Second, Timeout: time.Hour + 30*time.Minute, MaxAttempts: 3}
	b, err := json.Marshal(o)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"misfire_grace":"1m30s","timeout":"1h30m0s","max_attempts":3}`; string(b) != want {
		t.Errorf("Marshal = %s, want %s", b, want)
	}
	// No limit is "none" both ways; a legacy negative is read as it was
	// stored, and written as "none".
	for in, want := range map[string]string{`{"misfire_grace":"none"}`: `{"misfire_grace":"none"}`, `{"misfire_grace":"-1ns"}`: `{"misfire_grace":"none"}`,
		`{"misfire_grace":"-5m"}`: `{"misfire_grace":"none"}`} {
		var got sundial.JobOptions
		if err := json.Unmarshal([]byte(in), &got); err != nil || got.MisfireGrace >= 0 {
			t.Errorf("Unmarshal(%s) = %+v, %v", in, got, err)
		}
		if b, _ := json.Marshal(got); string(b) != want {
			t.Errorf("Marshal(%+v) = %s, want %s", got, b, want)
		}
	}
	for _, in := range []string{`{"misfire_grace":"90s","timeout":"90m","max_attempts":3}`, `{"misfire_grace":90,"timeout":5400,"max_attempts":3}`,
		`{"misfire_grace":"90","timeout":"5400","max_attempts":3}`, `{"misfire_grace":90.0,"timeout":"1.5h","max_attempts":3}`} {
		var got sundial.JobOptions
		if err := json.Unmarshal([]byte(in), &got); err != nil || !reflect.DeepEqual(got, o) {
			t.Errorf("Unmarshal(%s) = %+v, %v; want %+v", in, got, err, o)
		}
	}
	for in, want := range map[string]string{
		`{"timeout":"soon"}`:            `"soon" is not a duration`,
		`{"timeout":true}`:              `true is not a duration`,
		`{"timeout":1e12}`:              `field "options.timeout": 1e12 seconds is longer than 100 years`,
		`{"timeout":"900000h"}`:         `field "options.timeout": "900000h" is longer than 100 years`,
		`{"timeout":"9999999999h"}`:     `field "options.timeout": "9999999999h" is longer than 100 years`,
		`{"timeoutt":"1s"}`:             `field "options.timeoutt": unknown field "timeoutt"`,
		`{"max_attempts":"x"}`:          `field "options.max_attempts": expected a whole number, got a string`,
		`{"notify":[{"on":"failed"}]}`:  `field "options.notify[0].on": expected an array, got a string`,
		`{"misfire_grace":"unlimited"}`: `"none" for no limit`,
		`"x"`:                           `field "options": expected an object, got a string`,
	} {
		var got sundial.JobOptions
		if err := json.Unmarshal([]byte(in), &got); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Unmarshal(%s) error = %v, want it to say %s", in, err, want)
		}
	}
}

func TestLiveOutputAndExit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := setup(t, sundial.Config{OutputFlush: time.Second})
		started, proceed := make(chan string), make(chan struct{})
		b.register(t, "child", func(ctx context.Context, r sundial.Run) (any, error) {
			fmt.Fprint(sundial.Output(ctx), "first\n")
			started <- r.ID
			<-proceed
			fmt.Fprint(sundial.Output(ctx), "second\n")
			sundial.RecordExit(ctx, 3, "")
			return nil, fmt.Errorf("exit status 3")
		})
		b.add(t, sundial.Job{ID: "j", Task: "child", Trigger: every(time.Hour), Options: sundial.JobOptions{RunOnStart: true}})
		b.start(t)
		id := <-started
		text, changed, ok := b.s.LiveOutput(id)
		if !ok || text != "first\n" {
			t.Fatalf("Output while running = %q, %v", text, ok)
		}
		time.Sleep(1500 * time.Millisecond) // one flush
		if r, _ := b.s.RunByID(b.ctx, id); r.Output != "first\n" || r.Status != sundial.StatusRunning {
			t.Errorf("stored while running: %q %s", r.Output, r.Status)
		}
		close(proceed)
		<-changed
		time.Sleep(time.Second)
		if _, _, ok := b.s.LiveOutput(id); ok {
			t.Error("Output still live after the run ended")
		}
		b.stop(t)
		r, _ := b.s.RunByID(b.ctx, id)
		if r.Output != "first\nsecond\n" || r.Exit == nil || r.Exit.Code != 3 || r.Status != sundial.StatusFailed {
			t.Errorf("ended run = %+v", r)
		}
	})
}

func TestValidateArgs(t *testing.T) {
	b := setup(t, sundial.Config{})
	b.register(t, "noop", ok)
	err := b.s.Register("http", ok, sundial.ValidateArgs(func(args json.RawMessage) error {
		var a struct{ URL string }
		json.Unmarshal(args, &a)
		if a.URL == "" {
			return &sundial.InvalidJobError{Field: "args.url", Err: fmt.Errorf("is required")}
		}
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	_, err = b.s.AddJob(b.ctx, sundial.Job{ID: "x", Task: "http", Args: json.RawMessage(`{}`), Trigger: cron("@daily")})
	var ij *sundial.InvalidJobError
	if !errors.As(err, &ij) || ij.Field != "args.url" {
		t.Errorf("AddJob with bad args = %v, want a field error on args.url", err)
	}
	if _, err := b.s.AddJob(b.ctx, sundial.Job{ID: "x", Task: "http", Args: json.RawMessage(`{"url": "http://x"}`), Trigger: cron("@daily")}); err != nil {
		t.Errorf("AddJob with good args = %v", err)
	}
	// A run's own args are checked as a job's are, and a refused run is
	// not recorded.
	for args, field := range map[string]string{`{}`: "args.url", `{oops`: "args"} {
		_, err = b.s.RunNow(b.ctx, "x", json.RawMessage(args))
		if !errors.As(err, &ij) || ij.Field != field {
			t.Errorf("RunNow with args %s = %v, want a field error on %s", args, err, field)
		}
	}
	if runs, _ := b.s.Runs(b.ctx, sundial.RunFilter{JobID: "x"}); len(runs) != 0 {
		t.Errorf("refused runs were recorded: %+v", runs)
	}
}

// TestResultKeepsAmpersands: a result is stored as the task gave it, not
// escaped for HTML ("a \u0026 b").
func TestResultKeepsAmpersands(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := setup(t, sundial.Config{})
		b.register(t, "amp", func(context.Context, sundial.Run) (any, error) { return "R&D <ops>", nil })
		b.add(t, sundial.Job{ID: "amp", Task: "amp", Trigger: cron("0 * * * *")})
		b.start(t)
		time.Sleep(time.Hour + time.Minute)
		b.stop(t)
		runs := b.runs(t, "amp")
		if len(runs) == 0 {
			t.Fatal("no run")
		}
		for _, r := range runs {
			if string(r.Result) != `"R&D <ops>"` {
				t.Errorf("result = %s, want \"R&D <ops>\" unescaped", r.Result)
			}
		}
	})
}
