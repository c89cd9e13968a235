package sched

import (
	"bufio"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/golem-llm/golem/kvcache"
)

// The script language (testdata/*.txt), one command per line, '#' starts a comment:
//
//	config blocks=16 block=4 budget=16 seqs=4 ctx=0   new scheduler (must come first)
//	add r1 prompt=sys:8,3 max=4 prio=0                 prompt: comma-separated segments; "name:n" is
//	                                                   the first n tokens of the shared stream name,
//	                                                   "n" is n tokens unique to the request
//	error <text>                                       the previous command failed, its error contains text
//	step [stop=r1,r2]                                  Schedule + Update (each sampling request gets a token;
//	                                                   those listed report Stop)
//	schedule / update [stop=…]                         the two halves of step
//	abort r1
//	expect run r1:0+16 r2:40+1*                        last plan's Work, in order: id:pos+n, * = samples (or "none")
//	expect preempted r3 / admitted r1 r2               last plan's lists, in order (or "none")
//	expect blocks free=12 cached=2 used=2              manager counts (any subset)
//	expect state r1=running r2=waiting r3=gone
//	expect computed r1=12 / output r1=3 / cached r1=8  positions in cache / tokens generated / Work.Cached
//	expect cache queried=40 hit=32                     last plan's prefix-cache counters
//	expect finished r1=length r2=stop                  last update's finished requests (or "none")
//	expect table r1=0,1,2 / ref 0=2 1=1                block table / block reference counts
//	expect running r1 r2 / waiting r3                  queues in order (or "none")
//	expect stats prompt=30 decode=4 preemptions=1      cumulative counters (any subset)
//
// After every command the invariants of checkInvariants are checked.

type script struct {
	t        *testing.T
	file     string
	line     int
	s        *Scheduler
	kv       *kvcache.Manager
	ids      map[string]int
	names    map[int]string
	plan     *Plan
	finished []Finished
	lastErr  error
	sampled  int32
}

func TestScripts(t *testing.T) {
	files, err := filepath.Glob("testdata/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scripts in testdata: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) { runScript(t, f) })
	}
}

func runScript(t *testing.T, file string) {
	fh, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	sc := &script{t: t, file: file, ids: map[string]int{}, names: map[int]string{}, sampled: 1 << 20}
	in := bufio.NewScanner(fh)
	for in.Scan() {
		sc.line++
		line := in.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		sc.exec(f)
		if sc.s != nil {
			if err := checkInvariants(sc.s); err != nil {
				sc.fatalf("after %q: %v", line, err)
			}
		}
	}
	if err := in.Err(); err != nil {
		t.Fatal(err)
	}
	if sc.lastErr != nil {
		sc.fatalf("unexpected error from the last command: %v", sc.lastErr)
	}
}

func (sc *script) fatalf(format string, args ...any) {
	sc.t.Helper()
	sc.t.Fatalf("%s:%d: %s", sc.file, sc.line, fmt.Sprintf(format, args...))
}

// keyvals parses "key=value" words into a map.
func (sc *script) keyvals(words []string) map[string]string {
	m := map[string]string{}
	for _, w := range words {
		k, v, ok := strings.Cut(w, "=")
		if !ok {
			sc.fatalf("want key=value, got %q", w)
		}
		m[k] = v
	}
	return m
}

func (sc *script) atoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		sc.fatalf("bad number %q", s)
	}
	return n
}

func (sc *script) id(name string) int {
	id, ok := sc.ids[name]
	if !ok {
		id = len(sc.ids) + 1
		sc.ids[name] = id
		sc.names[id] = name
	}
	return id
}

// streamToken is token k of the named stream: distinct streams never share token ids.
func streamToken(name string, k int) int32 {
	h := fnv.New32a()
	h.Write([]byte(name))
	return int32(h.Sum32()%100000)*10000 + int32(k)
}

func (sc *script) prompt(spec, req string) []int32 {
	var toks []int32
	for _, seg := range strings.Split(spec, ",") {
		name, n := req, 0
		if a, b, ok := strings.Cut(seg, ":"); ok {
			name, n = a, sc.atoi(b)
		} else {
			n = sc.atoi(seg)
		}
		for k := 0; k < n; k++ {
			// A request's own segments continue its own stream.
			off := 0
			if name == req {
				off = len(toks)
			}
			toks = append(toks, streamToken(name, off+k))
		}
	}
	return toks
}

func (sc *script) exec(f []string) {
	cmd, args := f[0], f[1:]
	if cmd != "config" && sc.s == nil {
		sc.fatalf("config must come first")
	}
	if sc.lastErr != nil && cmd != "error" {
		sc.fatalf("unexpected error from the previous command: %v", sc.lastErr)
	}
	switch cmd {
	case "config":
		a := sc.keyvals(args)
		get := func(k string, def int) int {
			if v, ok := a[k]; ok {
				return sc.atoi(v)
			}
			return def
		}
		kv, err := kvcache.NewManager(get("blocks", 16), get("block", 4))
		if err != nil {
			sc.fatalf("%v", err)
		}
		s, err := New(Config{MaxBatchTokens: get("budget", 16), MaxSeqs: get("seqs", 4), MaxModelLen: get("ctx", 0)}, kv)
		if err != nil {
			sc.fatalf("%v", err)
		}
		sc.s, sc.kv = s, kv
	case "add":
		name := args[0]
		a := sc.keyvals(args[1:])
		max, prio := 1, 0
		if v, ok := a["max"]; ok {
			max = sc.atoi(v)
		}
		if v, ok := a["prio"]; ok {
			prio = sc.atoi(v)
		}
		sc.lastErr = sc.s.Add(Request{ID: sc.id(name), Prompt: sc.prompt(a["prompt"], name), MaxTokens: max, Priority: prio})
	case "error":
		want := strings.Join(args, " ")
		if sc.lastErr == nil || !strings.Contains(sc.lastErr.Error(), want) {
			sc.fatalf("want error containing %q, got %v", want, sc.lastErr)
		}
		sc.lastErr = nil
	case "step":
		sc.schedule()
		sc.update(args)
	case "schedule":
		sc.schedule()
	case "update":
		sc.update(args)
	case "abort":
		if !sc.s.Abort(sc.id(args[0])) {
			sc.fatalf("abort %s: unknown", args[0])
		}
	case "expect":
		sc.expect(args[0], args[1:])
	default:
		sc.fatalf("unknown command %q", cmd)
	}
}

func (sc *script) schedule() {
	sc.plan = sc.s.Schedule()
	if sc.plan.Tokens > sc.s.cfg.MaxBatchTokens {
		sc.fatalf("plan has %d tokens, budget %d", sc.plan.Tokens, sc.s.cfg.MaxBatchTokens)
	}
}

func (sc *script) update(args []string) {
	stop := map[int]bool{}
	for k, v := range sc.keyvals(args) {
		if k != "stop" {
			sc.fatalf("update: unknown argument %q", k)
		}
		for _, n := range strings.Split(v, ",") {
			stop[sc.id(n)] = true
		}
	}
	var res []Result
	for _, w := range sc.plan.Work {
		if w.Logits {
			sc.sampled++
			res = append(res, Result{ID: w.ID, Token: sc.sampled, Stop: stop[w.ID]})
		}
	}
	fin, err := sc.s.Update(res)
	if err != nil {
		sc.fatalf("update: %v", err)
	}
	sc.finished = fin
}

func (sc *script) list(ids []int) string {
	if len(ids) == 0 {
		return "none"
	}
	var b []string
	for _, id := range ids {
		b = append(b, sc.names[id])
	}
	return strings.Join(b, " ")
}

func (sc *script) expect(what string, args []string) {
	want := strings.Join(args, " ")
	var got string
	switch what {
	case "run":
		var b []string
		for _, w := range sc.plan.Work {
			s := fmt.Sprintf("%s:%d+%d", sc.names[w.ID], w.Pos, len(w.Tokens))
			if w.Logits {
				s += "*"
			}
			b = append(b, s)
		}
		got = strings.Join(b, " ")
		if got == "" {
			got = "none"
		}
	case "preempted":
		got = sc.list(sc.plan.Preempted)
	case "admitted":
		got = sc.list(sc.plan.Admitted)
	case "running":
		got = sc.list(sc.s.Running(nil))
	case "waiting":
		got = sc.list(sc.s.Waiting(nil))
	case "finished":
		var b []string
		for _, f := range sc.finished {
			b = append(b, sc.names[f.ID]+"="+f.Reason.String())
		}
		got = strings.Join(b, " ")
		if got == "" {
			got = "none"
		}
	case "cache":
		got = sc.pairs(args, func(k string) string {
			switch k {
			case "queried":
				return strconv.Itoa(sc.plan.CacheQueried)
			case "hit":
				return strconv.Itoa(sc.plan.CacheHit)
			}
			sc.fatalf("unknown cache key %q", k)
			return ""
		})
	case "blocks":
		got = sc.pairs(args, func(k string) string {
			switch k {
			case "free":
				return strconv.Itoa(sc.kv.NumFree())
			case "cached":
				return strconv.Itoa(sc.kv.NumCached())
			case "used":
				return strconv.Itoa(sc.kv.NumUsed())
			}
			sc.fatalf("unknown blocks key %q", k)
			return ""
		})
	case "stats":
		st := sc.s.Stats()
		got = sc.pairs(args, func(k string) string {
			switch k {
			case "prompt":
				return strconv.Itoa(st.PromptTokens)
			case "decode":
				return strconv.Itoa(st.DecodeTokens)
			case "preemptions":
				return strconv.Itoa(st.Preemptions)
			}
			sc.fatalf("unknown stats key %q", k)
			return ""
		})
	case "ref":
		got = sc.pairs(args, func(k string) string { return strconv.Itoa(sc.kv.Ref(sc.atoi(k))) })
	case "state", "computed", "output", "cached", "table":
		got = sc.pairs(args, func(k string) string {
			id := sc.id(k)
			switch what {
			case "state":
				return [...]string{"gone", "waiting", "running"}[sc.s.State(id)]
			case "computed":
				return strconv.Itoa(sc.s.Computed(id))
			case "output":
				return strconv.Itoa(len(sc.s.Output(id)))
			case "cached":
				for _, w := range sc.plan.Work {
					if w.ID == id {
						return strconv.Itoa(w.Cached)
					}
				}
				return "notrun"
			default:
				var b []string
				for _, x := range sc.kv.Table(id) {
					b = append(b, strconv.Itoa(x))
				}
				return strings.Join(b, ",")
			}
		})
	default:
		sc.fatalf("unknown expectation %q", what)
	}
	if got != want {
		sc.fatalf("expect %s:\n got: %s\nwant: %s", what, got, want)
	}
}

// pairs renders "k=v" for each key of args using get, in the order given.
func (sc *script) pairs(args []string, get func(k string) string) string {
	var b []string
	for _, a := range args {
		k, _, ok := strings.Cut(a, "=")
		if !ok {
			sc.fatalf("want key=value, got %q", a)
		}
		b = append(b, k+"="+get(k))
	}
	return strings.Join(b, " ")
}

// checkInvariants checks the scheduler against its block manager.
func checkInvariants(s *Scheduler) error {
	if err := s.kv.Check(); err != nil {
		return err
	}
	if len(s.running) > s.cfg.MaxSeqs {
		return fmt.Errorf("%d running, MaxSeqs %d", len(s.running), s.cfg.MaxSeqs)
	}
	if !slices.IsSortedFunc(s.running, cmpSeq) || !slices.IsSortedFunc(s.waiting, cmpSeq) {
		return fmt.Errorf("queues out of order")
	}
	if len(s.running)+len(s.waiting) != len(s.seqs) {
		return fmt.Errorf("%d running + %d waiting != %d requests", len(s.running), len(s.waiting), len(s.seqs))
	}
	bs := s.kv.BlockSize()
	tables := 0
	for _, q := range s.running {
		if !q.running || s.seqs[q.id] != q {
			return fmt.Errorf("request %d in the running queue is not running", q.id)
		}
		tab := s.kv.Table(q.id)
		if tab == nil {
			return fmt.Errorf("running request %d has no block table", q.id)
		}
		tables++
		if q.computed > len(q.tokens) || len(tab)*bs < q.computed {
			return fmt.Errorf("request %d: computed %d, tokens %d, table covers %d", q.id, q.computed, len(q.tokens), len(tab)*bs)
		}
		// Everything below computed must be readable: computed blocks, or the request's own
		// partial block.
		for i := 0; (i+1)*bs <= q.computed; i++ {
			if !s.kv.Computed(tab[i]) {
				return fmt.Errorf("request %d: block %d (#%d) below computed %d is not computed", q.id, tab[i], i, q.computed)
			}
		}
	}
	for _, q := range s.waiting {
		if q.running || s.kv.Has(q.id) || q.computed != 0 {
			return fmt.Errorf("waiting request %d holds blocks or progress", q.id)
		}
	}
	if used := s.kv.NumUsed(); tables == 0 && used != 0 {
		return fmt.Errorf("no running requests but %d blocks used", used)
	}
	return nil
}

func cmpSeq(a, b *seq) int {
	if less(a, b) {
		return -1
	}
	if less(b, a) {
		return 1
	}
	return 0
}
