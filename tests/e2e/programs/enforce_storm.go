// A busy Go program for `mif run --enforce` (issue 28, item 3): goroutines that spin
// (so the runtime preempts them with signals, SIGURG every 10 ms) beside goroutines that
// make TCP connects and unconnected UDP sends, each of which the supervisor decides.
// Prints one line of counts and every distinct error; exit 0 unless the arguments are bad.
//
//	enforce_storm TCPHOST:PORT UDPHOST:PORT WORKERS ROUNDS [DNSHOST:53]
//
// With DNSHOST, each round also connects a UDP socket to that server and sends it a query
// for storm.invalid: under --enforce the supervisor redirects a connect to port 53 to the
// pinned PvD's server by connecting the socket itself.
package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) != 5 && len(os.Args) != 6 {
		fmt.Fprintln(os.Stderr, "usage: enforce_storm TCPHOST:PORT UDPHOST:PORT WORKERS ROUNDS [DNSHOST:53]")
		os.Exit(64)
	}
	workers, _ := strconv.Atoi(os.Args[3])
	rounds, _ := strconv.Atoi(os.Args[4])
	udpAddr, err := net.ResolveUDPAddr("udp", os.Args[2])
	if err != nil || workers <= 0 || rounds <= 0 {
		fmt.Fprintln(os.Stderr, "enforce_storm: bad arguments")
		os.Exit(64)
	}
	var stop atomic.Bool
	var spin sync.WaitGroup
	for i := 0; i < 2*runtime.NumCPU(); i++ {
		spin.Add(1)
		go func() {
			defer spin.Done()
			x := 1.0
			for !stop.Load() {
				for k := 0; k < 100000; k++ {
					x = x*1.0000001 + 1e-9
				}
			}
			_ = x
		}()
	}
	// A DNS query for storm.invalid, type A.
	query := []byte{0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0,
		5, 's', 't', 'o', 'r', 'm', 7, 'i', 'n', 'v', 'a', 'l', 'i', 'd', 0, 0, 1, 0, 1}
	var connects, sends, queries, eintr atomic.Int64
	var mu sync.Mutex
	seen := map[string]int{}
	fail := func(err error) {
		if errors.Is(err, syscall.EINTR) {
			eintr.Add(1)
		}
		mu.Lock()
		seen[err.Error()]++
		mu.Unlock()
	}
	var work sync.WaitGroup
	for w := 0; w < workers; w++ {
		work.Add(1)
		go func() {
			defer work.Done()
			pc, err := net.ListenUDP("udp", nil)
			if err != nil {
				fail(err)
				return
			}
			defer pc.Close()
			for r := 0; r < rounds; r++ {
				c, err := net.DialTimeout("tcp", os.Args[1], 5*time.Second)
				if err != nil {
					fail(err)
				} else {
					connects.Add(1)
					c.Close()
				}
				if _, err := pc.WriteTo([]byte("x"), udpAddr); err != nil {
					fail(err)
				} else {
					sends.Add(1)
				}
				if len(os.Args) == 6 {
					d, err := net.Dial("udp", os.Args[5])
					if err != nil {
						fail(err)
					} else {
						if _, err := d.Write(query); err != nil {
							fail(err)
						} else {
							queries.Add(1)
						}
						d.Close()
					}
				}
			}
		}()
	}
	work.Wait()
	stop.Store(true)
	spin.Wait()
	fmt.Printf("connects=%d sends=%d queries=%d eintr=%d errors=%d\n", connects.Load(),
		sends.Load(), queries.Load(), eintr.Load(), len(seen))
	for e, n := range seen {
		fmt.Printf("error %dx %s\n", n, e)
	}
}
