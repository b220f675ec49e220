/** simple-peer's prebuilt browser bundle (UMD, its own Buffer and stream inside): same API as the package. */
declare module 'simple-peer/simplepeer.min.js' {
  import SimplePeer from 'simple-peer';
  export default SimplePeer;
}
