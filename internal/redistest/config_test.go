package redistest

import "testing"

func TestPasswordFrom(t *testing.T) {
	tests := []struct {
		name  string
		lines []string
		want  string
	}{
		{"none", []string{"maxmemory 10mb"}, ""},
		{"plain", []string{"requirepass s3cret"}, "s3cret"},
		{"case and spacing", []string{"  RequirePass\ts3cret  "}, "s3cret"},
		{"double quoted", []string{`requirepass "with space"`}, "with space"},
		{"single quoted", []string{`requirepass 'with space'`}, "with space"},
		{"last wins", []string{"requirepass first", "requirepass second"}, "second"},
		{"similar directive", []string{"requirepassword x"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := passwordFrom(tt.lines); got != tt.want {
				t.Errorf("passwordFrom(%q) = %q, want %q", tt.lines, got, tt.want)
			}
		})
	}
}

// TestQuoteArg checks quoteArg against what redis-server itself reads back.
func TestQuoteArg(t *testing.T) {
	t.Parallel()
	password := "a \"b\" \\c\td\u00e9"
	s := StartServer(t, "requirepass "+quoteArg(password))
	if err := s.Client(t).Ping(t.Context()).Err(); err != nil {
		t.Fatalf("PING with the password %q written as %s: %v", password, quoteArg(password), err)
	}
}
