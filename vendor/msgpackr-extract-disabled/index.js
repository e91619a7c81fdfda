// msgpackr treats a falsy export as "no native accelerator" and uses its JS decoder.
module.exports = null;
