// Return a function that delays calling fn until waitMs have passed since the last call.
function debounce(fn, waitMs) {
  throw new Error("your code here");
}

module.exports = { debounce };
