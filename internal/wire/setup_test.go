package wire

import "testing"

func TestIsSetupRequest(t *testing.T) {
	t.Parallel()
	for req, want := range map[string]bool{
		"*2\r\n$5\r\nhello\r\n$1\r\n3\r\n":                                            true,
		"*4\r\n$6\r\nclient\r\n$7\r\nsetinfo\r\n$8\r\nLIB-NAME\r\n$8\r\ngo-redis\r\n": true,
		"*2\r\n$6\r\nselect\r\n$1\r\n1\r\n":                                           true,
		"*3\r\n$4\r\nauth\r\n$1\r\nu\r\n$1\r\np\r\n":                                  true,
		"*1\r\n$8\r\nreadonly\r\n":                                                    true,
		"*2\r\n$3\r\nget\r\n$1\r\nk\r\n":                                              false,
		"*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n":                                            false, // the application's own
		"*2\r\n$6\r\nclient\r\n$4\r\nlist\r\n":                                        false,
		"*1\r\n$4\r\nping\r\n":                                                        false,
		"*2\r\n$5\r\nhel":                                                             false,
		"":                                                                            false,
	} {
		if got := isSetupRequest([]byte(req)); got != want {
			t.Fatalf("%q: %v, want %v", req, got, want)
		}
	}
}
