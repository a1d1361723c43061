// Command vilt runs ViLT (Vision-and-Language Transformer) inference on Vulkan.
//
// Each subcommand lives in its own file (cmd_<name>.go) and registers itself in init
// with register, so commands can be added without touching this file.
//
// Exit codes: 0 success, 1 runtime failure (bad input, device error), 2 usage error.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strings"
)

// command is one `vilt <name>` subcommand.
type command struct {
	name    string
	summary string
	// run parses args (everything after the subcommand name) and does the work.
	// stdout is where results go; diagnostics go through slog to stderr.
	run func(args []string, stdout io.Writer) error
}

var commands = map[string]*command{}

func register(c *command) {
	if _, dup := commands[c.name]; dup {
		panic("vilt: duplicate command " + c.name) // programming error, caught at start-up
	}
	commands[c.name] = c
}

// errUsage marks an error as a usage error (exit code 2).
var errUsage = errors.New("usage")

// usageErr marks a flag-parsing error as a usage error (help requests pass through).
func usageErr(err error) error {
	if errors.Is(err, flag.ErrHelp) {
		return err
	}
	return fmt.Errorf("%w: %v", errUsage, err)
}

func usageErrorf(format string, a ...any) error {
	return fmt.Errorf("%w: %s", errUsage, fmt.Sprintf(format, a...))
}

// newFlagSet returns a flag set that reports errors instead of exiting.
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("vilt "+name, flag.ContinueOnError)
	fs.SetOutput(os.Stderr)
	if flagSetMade != nil {
		flagSetMade(fs)
	}
	return fs
}

// flagSetMade, when set (tests), sees each command's flag set as it is made: the help,
// completion and README tests compare the flags they name with the real ones.
var flagSetMade func(*flag.FlagSet)

func printHelp(w io.Writer) {
	fmt.Fprintln(w, "vilt: ViLT vision-and-language inference on Vulkan compute")
	fmt.Fprintln(w, "\nusage: vilt <command> [flags]\n\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-12s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nRun 'vilt <command> -h' for a command's flags.")
	fmt.Fprintln(w, "Exit codes: 0 ok, 1 failure, 2 usage error.")
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	slog.SetDefault(slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: logLevel()})))
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		if len(args) > 1 {
			if c, ok := commands[args[1]]; ok {
				_ = c.run([]string{"-h"}, stdout)
				return 0
			}
		}
		printHelp(stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	if args[0] == "--version" || args[0] == "-version" {
		args[0] = "version"
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "vilt: unknown command %q (see 'vilt help')\n", args[0])
		return 2
	}
	if err := c.run(args[1:], stdout); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintf(stderr, "vilt %s: %v\n", c.name, oneLine(err))
		if errors.Is(err, errUsage) {
			return 2
		}
		return 1
	}
	return 0
}

func oneLine(err error) string {
	return strings.ReplaceAll(err.Error(), "\n", "; ")
}

func logLevel() slog.Level {
	switch strings.ToLower(os.Getenv("VILT_LOG")) {
	case "debug":
		return slog.LevelDebug
	case "warn":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	return slog.LevelInfo
}
