package main

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// commandFlags runs `vilt help name` (the command with -h) and returns its help text and its
// real flag set, taken as the command makes it (flags are all defined before parsing).
func commandFlags(t *testing.T, name string) (string, *flag.FlagSet) {
	t.Helper()
	c, ok := commands[name]
	if !ok {
		t.Fatalf("no command %q", name)
	}
	var help bytes.Buffer
	var fs *flag.FlagSet
	flagSetMade = func(f *flag.FlagSet) {
		if fs == nil {
			fs = f
			f.SetOutput(&help)
		}
	}
	defer func() { flagSetMade = nil }()
	if err := c.run([]string{"-h"}, &bytes.Buffer{}); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("vilt %s -h: %v, want the help", name, err)
	}
	if fs == nil {
		t.Fatalf("vilt %s made no flag set", name)
	}
	return help.String(), fs
}

// longFlag is a flag named with two dashes in prose or usage lines ("--top-k 5").
var longFlag = regexp.MustCompile(`(?:^|[\s\[(|'"{])--([a-z][a-z0-9-]*)`)

// completionFlag is the bash completion's rule for the flag list lines of -h.
var completionFlag = regexp.MustCompile(`(?m)^  (-[A-Za-z0-9-]*)`)

// TestHelpAndCompletionFlags: every flag `vilt help CMD` names exists, and the flags the
// shell completion reads from the help are exactly the command's flags.
func TestHelpAndCompletionFlags(t *testing.T) {
	if !strings.Contains(bashCompletion, `sed -n 's/^  \(-[A-Za-z0-9-]*\).*/-\1/p'`) {
		t.Fatal("the completion script no longer reads flags with the rule this test mirrors; update completionFlag")
	}
	for name := range commands {
		help, fs := commandFlags(t, name)
		for _, m := range longFlag.FindAllStringSubmatch(help, -1) {
			if fs.Lookup(m[1]) == nil {
				t.Errorf("vilt help %s names --%s, which %s does not have", name, m[1], name)
			}
		}
		var listed, real []string
		for _, m := range completionFlag.FindAllStringSubmatch(help, -1) {
			listed = append(listed, strings.TrimPrefix(m[1], "-"))
		}
		fs.VisitAll(func(f *flag.Flag) { real = append(real, f.Name) })
		sort.Strings(listed)
		sort.Strings(real)
		if strings.Join(listed, " ") != strings.Join(real, " ") {
			t.Errorf("vilt %s: completion offers %v, the flags are %v", name, listed, real)
		}
	}
}

// readmeCommands are the `vilt ...` command lines of README.md: in shell blocks and in
// inline code, with "./bin/vilt", "bin/vilt" and environment assignments in front.
func readmeCommands(t *testing.T) [][]string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	inBlock := false
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "```") {
			inBlock = !inBlock
			continue
		}
		if inBlock {
			texts = append(texts, line)
			continue
		}
		for i, part := range strings.Split(line, "`") {
			if i%2 == 1 {
				texts = append(texts, strings.ReplaceAll(part, `\|`, "|"))
			}
		}
	}
	var out [][]string
	for _, s := range texts {
		if i := strings.Index(s, " #"); i >= 0 {
			s = s[:i] // a shell comment
		}
		words, err := shellWords(s)
		if err != nil {
			t.Errorf("README %q: %v", s, err)
			continue
		}
		for len(words) > 0 && strings.Contains(words[0], "=") && !strings.HasPrefix(words[0], "-") {
			words = words[1:] // VAR=value
		}
		if len(words) < 2 || (words[0] != "vilt" && words[0] != "./bin/vilt" && words[0] != "bin/vilt") {
			continue
		}
		out = append(out, words[1:])
	}
	return out
}

// shellWords splits a command line as sh does for plain words and '…'/"…" quotes.
func shellWords(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	in, quote := false, rune(0)
	for _, r := range s {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			cur.WriteRune(r)
		case r == '\'' || r == '"':
			quote, in = r, true
		case r == ' ' || r == '\t':
			if in {
				words = append(words, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteRune(r)
			in = true
		}
	}
	if quote != 0 {
		return nil, errors.New("unclosed quote")
	}
	if in {
		words = append(words, cur.String())
	}
	return words, nil
}

// TestREADMECommandsParse: every `vilt ...` example in README.md names a command and parses
// with that command's real flags ("[--top-k 5]" optional parts included; "..." stands for
// the rest).
func TestREADMECommandsParse(t *testing.T) {
	cmds := readmeCommands(t)
	if len(cmds) < 10 {
		t.Fatalf("found only %d vilt commands in README.md", len(cmds))
	}
	for _, words := range cmds {
		name := words[0]
		if name == "help" {
			continue
		}
		if name == "--version" || name == "-version" { // main's alias of `vilt version`
			name, words = "version", append([]string{"version"}, words[1:]...)
		}
		if _, ok := commands[name]; !ok {
			t.Errorf("README: vilt %s: no such command", strings.Join(words, " "))
			continue
		}
		var args []string
		for _, w := range words[1:] {
			w = strings.Trim(w, "[]")
			if w != "" && w != "..." {
				args = append(args, w)
			}
		}
		_, fs := commandFlags(t, name)
		fs.SetOutput(&bytes.Buffer{})
		if err := fs.Parse(args); err != nil {
			t.Errorf("README: vilt %s: %v", strings.Join(words, " "), err)
		}
	}
}

// TestREADMEStandsAlone: README.md points at nothing outside the repository, and every
// relative link resolves.
func TestREADMEStandsAlone(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if i := strings.Index(string(b), "../"); i >= 0 {
		t.Errorf("README.md refers outside the repository: %q", string(b)[max(0, i-30):min(len(b), i+40)])
	}
	for _, m := range regexp.MustCompile(`\]\(([^)#]+)`).FindAllStringSubmatch(string(b), -1) {
		if strings.Contains(m[1], "://") {
			continue
		}
		if _, err := os.Stat("../../" + m[1]); err != nil {
			t.Errorf("README.md links to %s: %v", m[1], err)
		}
	}
}
