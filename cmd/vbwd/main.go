// Command vbwd runs the vbwd engine: Lua plugins served over HTTP.
package main

import (
	"fmt"
	"os"
)

func main() {
	if err := newRootCmd().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "vbwd:", err)
		os.Exit(1)
	}
}
