/*  secpolctl_completion.c - `secpolctl completion bash`: a bash completion
 *  script written from the command table, so every command, subcommand and
 *  option is completed as soon as the table has it.
 *
 *  What only a running secpolctl knows is asked at completion time: method
 *  names from `secpolctl list` (the secpolctl being completed, which may be
 *  newer than the script), setting names from `secpolctl policy settings`
 *  (nothing when that command is missing or fails).
 */
#include "secpolctl_internal.h"

#include <stdio.h>
#include <string.h>

static void s_print_valued (void);
static void s_print_options (const secpolctl_command_t *command);
static const char *s_last_word (const char *path);

int
secpolctl_run_completion (const secpolctl_command_t *command, secpol_client_t *client, int argc,
                          char **argv)
{
    (void)command, (void)client, (void)argc;
    if (strcmp (argv[0], "bash") != 0)
        return secpolctl_usage_error ("completion: only bash is supported, not \"%s\" (see "
                                      "secpolctl completion --help)",
                                      argv[0]);
    puts ("# bash completion for secpolctl, written by `secpolctl completion bash`.\n"
          "# Load it with:  source <(secpolctl completion bash)\n"
          "\n"
          "# The first word of each line \"$@\" prints; nothing when it fails.\n"
          "_secpolctl_first_words() {\n"
          "  \"$@\" 2>/dev/null | awk '{ print $1 }'\n"
          "}\n"
          "\n"
          "_secpolctl() {\n"
          "  local cur=${COMP_WORDS[COMP_CWORD]} prev= option= program=${COMP_WORDS[0]}\n"
          "  local path= word= i skip=0 positional=0 words=\n"
          "  ((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}\n"
          "  # The command named so far, and how many positional words follow it.\n"
          "  # \"=\" is a word of its own to bash: --option=value, setting=value.\n"
          "  for ((i = 1; i < COMP_CWORD; i++)); do\n"
          "    word=${COMP_WORDS[i]}\n"
          "    if ((skip)); then skip=0; continue; fi\n"
          "    case $word in\n"
          "      =) skip=1; continue ;;");
    fputs ("      ", stdout);
    s_print_valued ();
    puts (") [[ ${COMP_WORDS[i + 1]} == = ]] || skip=1; continue ;;\n"
          "      -?*) continue ;;\n"
          "    esac\n"
          "    if ((positional == 0)); then\n"
          "      case \"$path:$word\" in");
    for (size_t k = 1; k < secpolctl_commands_count; k++) {
        const char *path = secpolctl_commands[k].path;
        const char *last = s_last_word (path);
        printf ("        \"%.*s:%s\") path=\"%s\"; continue ;;\n",
                (int)(last == path ? 0 : last - path - 1), path, last, path);
    }
    //  "help" before a group's subcommand names the command it is about.
    for (size_t k = 0; k < secpolctl_commands_count; k++)
        if (!secpolctl_commands[k].run)
            printf ("        \"%s:help\") continue ;;\n", secpolctl_commands[k].path);
    puts ("      esac\n"
          "    fi\n"
          "    positional=$((positional + 1))\n"
          "  done\n"
          "\n"
          "  # The value of an option.\n"
          "  option=$prev\n"
          "  [[ $prev == = ]] && ((COMP_CWORD > 1)) && option=${COMP_WORDS[COMP_CWORD - 2]}\n"
          "  case $option in\n"
          "    -o | --output) COMPREPLY=($(compgen -W \"json text\" -- \"$cur\")); return ;;");
    fputs ("    ", stdout);
    s_print_valued ();
    puts (") COMPREPLY=(); return ;;\n"
          "  esac\n"
          "  if [[ $prev == = ]]; then COMPREPLY=(); return; fi\n"
          "\n"
          "  if [[ $cur == -* ]]; then\n"
          "    case $path in");
    for (size_t k = 0; k < secpolctl_commands_count; k++) {
        printf ("      \"%s\") words=\"", secpolctl_commands[k].path);
        s_print_options (&secpolctl_commands[k]);
        puts ("\" ;;");
    }
    puts ("    esac\n"
          "    COMPREPLY=($(compgen -W \"$words\" -- \"$cur\"))\n"
          "    return\n"
          "  fi\n"
          "\n"
          "  case $path in");
    for (size_t k = 0; k < secpolctl_commands_count; k++) {
        const secpolctl_command_t *group = &secpolctl_commands[k];
        if (group->run)
            continue;
        //  A group: its subcommands, and help.
        printf ("    \"%s\") ((positional == 0)) && words=\"", group->path);
        size_t length = strlen (group->path);
        for (size_t c = 1; c < secpolctl_commands_count; c++) {
            const char *path = secpolctl_commands[c].path;
            const char *last = s_last_word (path);
            if ((size_t)(last - path) == (length ? length + 1 : 0) &&
                strncmp (path, group->path, length) == 0)
                printf ("%s ", last);
        }
        puts ("help\" ;;");
    }
    for (size_t k = 0; k < secpolctl_commands_count; k++) {
        const secpolctl_command_t *entry = &secpolctl_commands[k];
        const char *words = NULL;
        switch (entry->complete) {
            case SECPOLCTL_COMPLETE_METHOD:
                words = "((positional == 0)) && words=$(_secpolctl_first_words \"$program\" list)";
                break;
            case SECPOLCTL_COMPLETE_SERVICE:
                words = "((positional == 0)) && words=$(\"$program\" list 2>/dev/null |\n"
                        "        awk '{ split($1, part, \"/\"); print part[2]\n"
                        "               sub(/.*\\./, \"\", part[2]); print part[2] }' | sort -u)";
                break;
            case SECPOLCTL_COMPLETE_SCHEMA:
                words = "((positional == 0)) && words=$(\"$program\" list 2>/dev/null |\n"
                        "        awk '{ split($1, part, \"/\"); print $1; print $2; print $4\n"
                        "               print part[2]; sub(/.*\\./, \"\", part[2]); print part[2] "
                        "}' |\n"
                        "        sort -u)";
                break;
            case SECPOLCTL_COMPLETE_SHELL:
                words = "((positional == 0)) && words=bash";
                break;
            case SECPOLCTL_COMPLETE_SETTING:
                words = "if ((positional >= 1)); then\n"
                        "        words=$(_secpolctl_first_words \"$program\" policy settings |\n"
                        "          grep -E '^[a-z][a-z0-9_.]*$' | sed 's/$/=/')\n"
                        "        compopt -o nospace 2>/dev/null\n"
                        "      fi";
                break;
            default:
                break;
        }
        if (words)
            printf ("    \"%s\")\n      %s ;;\n", entry->path, words);
    }
    puts ("  esac\n"
          "  COMPREPLY=($(compgen -W \"$words\" -- \"$cur\"))\n"
          "}\n"
          "\n"
          "complete -F _secpolctl secpolctl");
    return SECPOLCTL_EXIT_OK;
}

//  Every spelling of every option that takes a value, as a case pattern.
static void
s_print_valued (void)
{
    const char *separator = "";
    for (const secpolctl_option_t *option = secpolctl_global_options; option->name; option++)
        if (option->value) {
            if (option->letter)
                printf ("%s-%c", separator, option->letter);
            printf (" | --%s", option->name);
            separator = " | ";
        }
    //  Each command's own, once each.
    for (size_t k = 0; k < secpolctl_commands_count; k++)
        for (const secpolctl_option_t *option = secpolctl_commands[k].options;
             option && option->name; option++) {
            if (!option->value)
                continue;
            bool seen = false;
            for (size_t j = 0; j < k && !seen; j++)
                for (const secpolctl_option_t *other = secpolctl_commands[j].options;
                     other && other->name && !seen; other++)
                    seen = strcmp (other->name, option->name) == 0;
            if (seen)
                continue;
            if (option->letter)
                printf (" | -%c", option->letter);
            printf (" | --%s", option->name);
        }
}

//  The options a command takes: the global ones, its own, -o when it prints.
static void
s_print_options (const secpolctl_command_t *command)
{
    for (const secpolctl_option_t *option = secpolctl_global_options; option->name; option++) {
        if (option->letter == 'o' && !command->output && *command->path)
            continue;
        printf ("%s--%s", option == secpolctl_global_options ? "" : " ", option->name);
    }
    for (const secpolctl_option_t *option = command->options; option && option->name; option++)
        printf (" --%s", option->name);
}

static const char *
s_last_word (const char *path)
{
    const char *space = strrchr (path, ' ');
    return space ? space + 1 : path;
}
