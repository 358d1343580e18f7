// One import per command module; each calls addCommand() when loaded.
