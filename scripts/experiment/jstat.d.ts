// jstat ships no type declarations; this covers the one function the experiment uses.
declare module 'jstat' {
  const jstat: { jStat: { studentt: { inv(p: number, dof: number): number } } };
  export default jstat;
}
