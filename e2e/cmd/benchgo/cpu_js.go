//go:build js

package main

import "syscall/js"

// cpuMS is the process's user+system CPU time in ms (Node's
// process.cpuUsage): robust against other jobs on a busy machine, unlike
// wall time.
func cpuMS() float64 {
	u := js.Global().Get("process").Call("cpuUsage")
	return (u.Get("user").Float() + u.Get("system").Float()) / 1000
}
