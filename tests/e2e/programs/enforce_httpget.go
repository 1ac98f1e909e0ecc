// A CGO_ENABLED=0 Go HTTP client: Go's own resolver (reads /etc/resolv.conf) and raw
// system calls, so LD_PRELOAD never sees it. Prints the body; exit 1 on error.
//
//	enforce_httpget URL [TIMEOUT]   TIMEOUT: a Go duration, 5s when not given
package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

func main() {
	if len(os.Args) != 2 && len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: enforce_httpget URL [TIMEOUT]")
		os.Exit(64)
	}
	timeout := 5 * time.Second
	if len(os.Args) == 3 {
		t, err := time.ParseDuration(os.Args[2])
		if err != nil {
			fmt.Fprintln(os.Stderr, "enforce_httpget:", err)
			os.Exit(64)
		}
		timeout = t
	}
	client := &http.Client{Timeout: timeout}
	resp, err := client.Get(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "enforce_httpget:", err)
		os.Exit(1)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		fmt.Fprintln(os.Stderr, "enforce_httpget:", err)
		os.Exit(1)
	}
	os.Stdout.Write(body)
}
