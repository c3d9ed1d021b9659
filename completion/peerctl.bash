# SPDX-License-Identifier: ISC
# bash completion for peerctl(1): commands, their options, and where a
# running peerd can tell, node names and IDs, groups, services and topic
# patterns.  Installed by "make install" as completions/peerctl.

# Runs peerctl with the socket of the command line, --json, and args;
# at most 2 s, so that a hung daemon does not hang the shell.
_peerctl_query()
{
	local -a run=("${_peerctl_prog:-peerctl}")

	[[ -n $_peerctl_sock ]] && run+=(-s "$_peerctl_sock")
	if command -v timeout >/dev/null 2>&1; then
		timeout 2 "${run[@]}" --json "$@" 2>/dev/null
	else
		"${run[@]}" --json "$@" 2>/dev/null
	fi
}

# The text values of key in JSON on standard input, one a line, that
# are names, IDs, services or patterns: of those characters only, as
# what is completed is expanded by compgen -W, and other nodes' tags
# (any text, "$(...)" too) can hold a key of the same name.
_peerctl_values()
{
	tr -d ' \n\t' | grep -o "\"$1\":\"[^\"]*\"" | sed 's/.*:"//; s/"$//' |
	    grep -xE '[A-Za-z0-9._*-]+'
}

# Node names and IDs from members.
_peerctl_nodes()
{
	local json

	json=$(_peerctl_query members) || return
	printf '%s\n' "$json" | _peerctl_values name
	printf '%s\n' "$json" | _peerctl_values node
}

# The groups of members, and those services are offered in.
_peerctl_groups()
{
	_peerctl_query members | tr -d ' \n\t' |
	    grep -o '"groups":\[[^]]*\]' | sed 's/^"groups":\[//; s/\]$//' |
	    tr ',' '\n' | tr -d '"' | grep -xE '[A-Za-z0-9._-]+'
	_peerctl_query services | _peerctl_values group
}

_peerctl_services()
{
	_peerctl_query services | _peerctl_values service
}

_peerctl_patterns()
{
	_peerctl_query topics | _peerctl_values topic
}

# COMPREPLY from compgen's arguments, without word splitting or globbing
# of what it prints (a pattern may be "*"), each once (-c lists a
# builtin and a program of one name twice).
_peerctl_reply()
{
	mapfile -t COMPREPLY < <(compgen "$@" -- "$cur" | sort -u)
}

_peerctl()
{
	local cur prev cmd= i n=0 skip=0 opts= arg=
	local commands="call connect disconnect help id invite join key kv members
	    monitor notify peers ping publish revoke revoked serve services
	    stats status subscribe tags topics"
	local _peerctl_prog=${COMP_WORDS[0]} _peerctl_sock=

	COMPREPLY=()
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=
	((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}

	# Options before the command are peerctl's own.
	for ((i = 1; i < COMP_CWORD; i++)); do
		case ${COMP_WORDS[i]} in
		-s|--socket)
			_peerctl_sock=${COMP_WORDS[i + 1]}
			((i++))
			;;
		-*)
			;;
		*)
			cmd=${COMP_WORDS[i]}
			break
			;;
		esac
	done
	if [[ -z $cmd ]]; then
		case $prev in
		-s|--socket)
			_peerctl_reply -f
			return
			;;
		esac
		if [[ $cur == -* ]]; then
			_peerctl_reply -W "-s --socket --json -h --help
			    -V --version"
		else
			_peerctl_reply -W "$commands"
		fi
		return
	fi

	# The options of cmd, and those of them that take a value.
	case $cmd in
	call)		opts="--to --all --timeout"; arg="--to --timeout" ;;
	join)		opts="--force" ;;
	key)		opts="--grace"; arg="--grace" ;;
	kv)
		# The options of its subcommand, the word after kv.
		case ${COMP_WORDS[i + 1]} in
		get|merge|where) opts="--timeout"; arg="--timeout" ;;
		put)	opts="--if-version --ttl --timeout"
			arg="--if-version --ttl --timeout" ;;
		del)	opts="--if-version --timeout"
			arg="--if-version --timeout" ;;
		list)	opts="--limit --after --all --timeout"
			arg="--limit --after --timeout" ;;
		watch)	opts="--count"; arg="--count" ;;
		esac
		;;
	members)	opts="--group --hubs --tag --state --name"
			arg="--group --tag --state --name" ;;
	monitor)	opts="--members --services --log --count"
			arg="--log --count" ;;
	ping)		opts="--count --size --interval"
			arg="--count --size --interval" ;;
	serve)		opts="--group --jobs --verbose --"
			arg="--group --jobs" ;;
	revoke)		opts="--reason"; arg="--reason" ;;
	services)	opts="--service"; arg="--service" ;;
	subscribe)	opts="--count"; arg="--count" ;;
	esac

	# Which argument cur is: options and their values do not count.
	for ((i = i + 1; i < COMP_CWORD; i++)); do
		if ((skip)); then
			skip=0
			continue
		fi
		case ${COMP_WORDS[i]} in
		--)
			# serve: the rest is a command and its arguments.
			if [[ $cmd == serve ]]; then
				if ((i == COMP_CWORD - 1)); then
					_peerctl_reply -c
				else
					_peerctl_reply -f
				fi
				return
			fi
			;;
		-*)
			[[ " $arg " == *" ${COMP_WORDS[i]} "* ]] && skip=1
			;;
		*)
			((n++))
			;;
		esac
	done

	if ((skip)); then
		case $prev in
		--to)
			_peerctl_reply -W "$(_peerctl_nodes)
			    $(_peerctl_groups)"
			;;
		--group)
			_peerctl_reply -W "$(_peerctl_groups)"
			;;
		--service)
			_peerctl_reply -W "$(_peerctl_services)"
			;;
		--log)
			_peerctl_reply -W "error warn info debug"
			;;
		--state)
			_peerctl_reply -W "alive suspect dead left"
			;;
		esac
		return
	fi
	if [[ $cur == -* ]]; then
		_peerctl_reply -W "$opts --json --help"
		return
	fi

	case $cmd,$n in
	help,0)
		_peerctl_reply -W "$commands"
		;;
	call,0|notify,0)
		# SERVICE.METHOD: the service, then the method is typed.
		_peerctl_reply -S . -W "$(_peerctl_services)"
		compopt -o nospace 2>/dev/null
		;;
	disconnect,0|ping,0|revoke,0)
		_peerctl_reply -W "$(_peerctl_nodes)"
		;;
	publish,0)
		# A topic: the patterns that name one.
		_peerctl_reply -W "$(_peerctl_patterns | grep -v '[*]')"
		;;
	subscribe,0)
		_peerctl_reply -W "$(_peerctl_patterns)"
		;;
	tags,0)
		_peerctl_reply -W "set unset"
		;;
	kv,0)
		_peerctl_reply -W "del get list merge put watch where"
		;;
	key,0)
		_peerctl_reply -W "rotate"
		;;
	esac
	return 0
}
complete -F _peerctl peerctl
