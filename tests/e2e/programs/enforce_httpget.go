// A CGO_ENABLED=0 Go HTTP client: Go's own resolver (reads /etc/resolv.conf) and raw
// system calls, so LD_PRELOAD never sees it. Prints the body; exit 1 on error.
//
//	enforce_httpget URL
package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: enforce_httpget URL")
		os.Exit(64)
	}
	client := &http.Client{Timeout: 5 * time.Second}
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
