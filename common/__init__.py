"""The bottom of the project: small helpers every package may use (`geo`, `notify`,
`registry` and `emergency` alike). It imports none of ours and no Flask, so depending on it
never bends the layers: a marker for translatable text, the clock, and the base of each
package's models."""
