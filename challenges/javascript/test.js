const assert = require("assert");
const { debounce } = require("./index");

const calls = [];
const d = debounce((x) => calls.push(x), 50);
d(1); d(2); d(3);
setTimeout(() => { assert.deepStrictEqual(calls, [3]); console.log("ok"); }, 120);
