// The renderer: lit-html's tagged templates (vendored, see vendor.sh).
// Every value bound into a template is text or an attribute value, never
// markup: escaping is the default, and no page turns a string into markup
// (a test refuses the directives and DOM properties that would).
export { html, svg, nothing, render } from "../vendor/lit-html/lit-html.js";
export { keyed } from "../vendor/lit-html/directives/keyed.js";
