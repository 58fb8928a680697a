package command

import (
	"embed"
	"errors"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/interview-export/interview-export/exit"
)

// The shell completion scripts (urfave/cli's, bound to this program's
// name): they ask the binary itself, through --generate-bash-completion,
// for the commands and flags at the cursor.
//
//go:embed completion/bash completion/zsh
var completionScripts embed.FS

// completionCommand prints the completion script of a shell.
func (e *env) completionCommand() *cli.Command {
	return &cli.Command{
		Name:      "completion",
		Usage:     "print the shell completion script for bash, zsh or fish",
		UsageText: "interview-export completion bash|zsh|fish\n\n   bash: source <(interview-export completion bash), or save it to /etc/bash_completion.d/interview-export\n   zsh:  interview-export completion zsh > \"${fpath[1]}/_interview-export\"\n   fish: interview-export completion fish > ~/.config/fish/completions/interview-export.fish",
		Action: ours(func(c *cli.Context) error {
			switch shell := c.Args().First(); shell {
			case "bash", "zsh":
				script, err := completionScripts.ReadFile("completion/" + shell)
				if err != nil {
					return err
				}
				_, err = e.stdout.Write(script)
				return err
			case "fish":
				script, err := c.App.ToFishCompletion()
				if err != nil {
					return err
				}
				_, err = fmt.Fprint(e.stdout, script)
				return err
			case "":
				return exit.UsageError{Err: errors.New("completion needs a shell: bash, zsh or fish")}
			default:
				return exit.UsageError{Err: fmt.Errorf("completion %q: want bash, zsh or fish", shell)}
			}
		}),
	}
}

// manCommand prints the manual page (roff), as make man installs it.
func (e *env) manCommand() *cli.Command {
	return &cli.Command{
		Name:   "man",
		Usage:  "print the manual page (man 1 interview-export) in roff",
		Hidden: true,
		Action: ours(func(c *cli.Context) error {
			page, err := c.App.ToManWithSection(1)
			if err != nil {
				return err
			}
			_, err = fmt.Fprint(e.stdout, page)
			return err
		}),
	}
}
