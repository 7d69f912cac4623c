"""The parts of the git boundary; :class:`modelreg.gitrepo.GitRepo` puts them together."""
