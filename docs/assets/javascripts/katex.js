// Typeset the math pymdownx.arithmatex leaves in the page (\( ... \) inline, \[ ... \] display),
// with the KaTeX copy served from docs/assets/katex: no network needed.
document$.subscribe(({ body }) => {
  renderMathInElement(body, {
    delimiters: [
      { left: "\\(", right: "\\)", display: false },
      { left: "\\[", right: "\\]", display: true },
    ],
    throwOnError: false,
  });
});
