package main

import (
	"fmt"
	"io"
	"sort"
	"strings"
)

func init() {
	register(&command{
		name:    "completion",
		summary: "print a shell completion script (bash or zsh): source <(vilt completion bash)",
		run:     runCompletion,
	})
}

// The script completes command names, then each command's flags (read from
// 'vilt CMD -h', so it never goes stale) and file names.
const bashCompletion = `# vilt completion for bash (zsh: autoload -U +X bashcompinit && bashcompinit first)
_vilt() {
  local cur=${COMP_WORDS[COMP_CWORD]}
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=($(compgen -W "%s help" -- "$cur"))
    return
  fi
  if [[ $cur == -* ]]; then
    local flags
    flags=$("${COMP_WORDS[0]}" "${COMP_WORDS[1]}" -h 2>&1 | sed -n 's/^  \(-[A-Za-z0-9-]*\).*/-\1/p')
    COMPREPLY=($(compgen -W "$flags" -- "$cur"))
    return
  fi
  COMPREPLY=($(compgen -f -- "$cur"))
}
complete -o filenames -o bashdefault -F _vilt vilt
`

func runCompletion(args []string, stdout io.Writer) error {
	fs := newFlagSet("completion")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: vilt completion bash|zsh\n\n  bash: source <(vilt completion bash)\n  zsh:  autoload -U +X bashcompinit && bashcompinit; source <(vilt completion zsh)")
	}
	if err := fs.Parse(args); err != nil {
		return usageErr(err)
	}
	if fs.NArg() != 1 {
		return usageErrorf("want one shell: bash or zsh")
	}
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	switch fs.Arg(0) {
	case "bash", "zsh":
		_, err := fmt.Fprintf(stdout, bashCompletion, strings.Join(names, " "))
		return err
	}
	return usageErrorf("unknown shell %q (want bash or zsh)", fs.Arg(0))
}
