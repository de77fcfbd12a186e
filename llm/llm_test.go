package llm

import "testing"

func TestStopEnd(t *testing.T) {
	for _, c := range []struct {
		text  string
		stops []string
		from  int
		want  int
	}{
		{"abc</summary>def", []string{"</summary>"}, 0, 13},
		{"abc</summary>def", []string{"</summary>"}, 13, -1},                  // checked already
		{"abc</summary>def", []string{"</summary>"}, 5, 13},                   // a stop straddling from
		{"xx END yy STOP", []string{"STOP", "END"}, 0, 6},                     // the earliest end wins
		{"no stop here", []string{"", "zzz"}, 0, -1},                          // empty stops are ignored
		{"ab", []string{"abc"}, 0, -1},                                        // a prefix is no match
		{"héllo wörld", []string{"wörld"}, len("héllo "), len("héllo wörld")}, // byte offsets
	} {
		if got := StopEnd(c.text, c.stops, c.from); got != c.want {
			t.Errorf("StopEnd(%q, %q, %d) = %d, want %d", c.text, c.stops, c.from, got, c.want)
		}
	}
}
