//go:build tools

// Package deps pins the third-party modules the rooms use while they are being built.
package deps

import (
	_ "github.com/ardanlabs/jinja"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/schollz/progressbar/v3"
	_ "github.com/spf13/cobra"
	_ "golang.org/x/sys/cpu"
)
